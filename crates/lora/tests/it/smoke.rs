//! libtorch links and runs: a tensor computation and a backward pass.

use tch::{Kind, Tensor};

#[test]
fn libtorch_forward_and_backward() {
    // y = Σ (x ⊙ w)² with x = [1, 2, 3], w = [0.5, −1, 2]: x⊙w = [0.5, −2, 6], y = 0.25 + 4 + 36.
    // ∂y/∂w_i = 2·(x_i w_i)·x_i = [2·0.5·1, 2·(−2)·2, 2·6·3] = [1, −8, 36].
    let x = Tensor::from_slice(&[1.0f32, 2.0, 3.0]);
    let w = Tensor::from_slice(&[0.5f32, -1.0, 2.0]).set_requires_grad(true);
    let y = (&x * &w).square().sum(Kind::Float);
    assert_eq!(y.double_value(&[]), 40.25);
    y.backward();
    let g = Vec::<f32>::try_from(&w.grad()).expect("grad to vec");
    assert_eq!(g, vec![1.0, -8.0, 36.0]);
}

#[test]
fn svd_works_on_cpu() {
    // SPEC §9: `linalg_svd` fails on CPU; `Tensor::svd` is what the crate uses.
    // diag(3, 2) has singular values 3 and 2.
    let m = Tensor::from_slice(&[3.0f64, 0.0, 0.0, 2.0]).view([2, 2]);
    let (_, s, _) = m.svd(true, true);
    assert_eq!(Vec::<f64>::try_from(&s).expect("vec"), vec![3.0, 2.0]);
}
