//! Eigenvalues (only) of a real symmetric matrix, and the Gram matrix they are taken of: the fast
//! path of [`crate::spectrum`] (SPEC §4: the singular values behind every rank measure).
//!
//! Three steps, each the textbook algorithm written for speed on the paper's `256×256` Gram
//! matrices rather than generality:
//!
//! 1. [`gram_lower`]: the lower triangle of the smaller Gram matrix, by block rows through the
//!    cache-blocked SIMD `matrixmultiply` kernel behind nalgebra's `gemm` (only the blocks on and
//!    below the diagonal are multiplied).
//! 2. [`tridiagonalize`]: Householder reduction to tridiagonal form (LAPACK `dsytd2`, the variant
//!    that reduces from the last row up, so that on a row-major lower triangle every vector the
//!    algorithm touches is a contiguous row prefix). The symmetric rank-2 update of one step and
//!    the symmetric matrix-vector product of the next are fused into one pass over the triangle,
//!    so each row is fetched once per step; within a row, the update (no reduction) and the dot
//!    product (independent accumulators) are two plain slice loops the compiler vectorises. The
//!    crate is built for the baseline x86-64 target (SSE2: two `f64` lanes, no fused
//!    multiply-add), so on x86-64 this step is compiled twice and chosen at run time: a second copy
//!    with AVX and FMA enabled (four lanes, fused multiply-adds, rows taken in pairs) runs where
//!    the CPU has both, which makes the reduction about 1.5× as fast (issue 4's benchmark). The
//!    fused copy rounds each multiply-add once, so its eigenvalues differ from the baseline copy's
//!    in the last bits (both are within the backward-error bound below); on one machine the choice
//!    never changes.
//! 3. [`tridiagonal_eigenvalues`]: the Pal–Walker–Kahan square-root-free implicit QL iteration
//!    (LAPACK `dsterf`), `O(n²)` but bound by the latency of its divisions; each step here takes
//!    one reciprocal where LAPACK divides twice in a row (same quantities, rearranged), which
//!    halves its time.
//!
//! Speed (issue 4's benchmark, 32 matrices of the paper's shapes, 2 threads): 127–130 ms before
//! the AVX copy, the paired rows and the one-division QL step, 80–82 ms after (per 256×256 Gram
//! matrix, about 2.5 ms for the product, 2 ms for the reduction, 0.65 ms for QL).
//!
//! Householder reduction is backward stable, so every computed eigenvalue is within about
//! `n·ε₆₄·‖A‖₂` of an exact eigenvalue of the Gram matrix, the same guarantee as any dense
//! symmetric eigen-solver; the tests compare against nalgebra's SVD.

use nalgebra::{Dyn, MatrixView, MatrixViewMut};

/// Rows per block of [`gram_lower`]: each block row multiplies only up to the diagonal, so a
/// `256×256` Gram matrix costs 10 of 16 block products (62.5% of the full product). Narrower
/// blocks save flops but repack the shared operand more often: 32 measured about 10% slower.
const GRAM_BLOCK: usize = 64;

/// Largest `min(rows, cols)` whose Gram matrix [`gram_lower`] forms by a direct loop: nalgebra
/// sends a product to matrixmultiply only when every dimension exceeds 5.
const SMALL_GRAM: usize = 5;

/// Iterations allowed per eigenvalue in [`tridiagonal_eigenvalues`] (LAPACK's `MAXIT`).
const QL_ITERATIONS_PER_VALUE: usize = 30;

/// The lower triangle, row-major in a `k×k` buffer, of the smaller Gram matrix of the row-major
/// `rows×cols` matrix `G` in `data`: `GᵀG` when `rows ≥ cols`, else `GGᵀ`; `k = min(rows, cols)`.
/// Entries above the diagonal are left unspecified (zero or computed).
pub(crate) fn gram_lower(rows: usize, cols: usize, data: &[f64]) -> Vec<f64> {
    debug_assert_eq!(data.len(), rows * cols);
    let k = rows.min(cols);
    let long = rows.max(cols);
    // S is the k×long matrix with Gram S·Sᵀ: S = Gᵀ (tall G) or S = G (wide G). Both are views of
    // the row-major data with swapped strides; Sᵀ likewise, so nothing is copied.
    let (s_row_stride, s_col_stride) = if rows >= cols { (1, cols) } else { (cols, 1) };
    let s = MatrixView::<f64, Dyn, Dyn, Dyn, Dyn>::from_slice_with_strides_generic(
        data,
        Dyn(k),
        Dyn(long),
        Dyn(s_row_stride),
        Dyn(s_col_stride),
    );
    let s_transposed = MatrixView::<f64, Dyn, Dyn, Dyn, Dyn>::from_slice_with_strides_generic(
        data,
        Dyn(long),
        Dyn(k),
        Dyn(s_col_stride),
        Dyn(s_row_stride),
    );
    let mut gram = vec![0.0; k * k];
    if k <= SMALL_GRAM {
        // nalgebra multiplies matrices this small itself, not through matrixmultiply; a direct
        // loop is as fast and independent of its stride handling.
        for i in 0..k {
            for j in 0..=i {
                gram[i * k + j] = (0..long).map(|q| s[(i, q)] * s[(j, q)]).sum();
            }
        }
        return gram;
    }
    let mut out = MatrixViewMut::<f64, Dyn, Dyn, Dyn, Dyn>::from_slice_with_strides_generic(
        &mut gram,
        Dyn(k),
        Dyn(k),
        Dyn(k),
        Dyn(1),
    );
    // Block rows of near-equal height (at least min(k, GRAM_BLOCK/2) > SMALL_GRAM), so that
    // every product is large enough for nalgebra to hand it to matrixmultiply.
    let blocks = k.div_ceil(GRAM_BLOCK);
    for b in 0..blocks {
        let (i, next) = (k * b / blocks, k * (b + 1) / blocks);
        let height = next - i;
        out.view_mut((i, 0), (height, next)).gemm(
            1.0,
            &s.rows(i, height),
            &s_transposed.columns(0, next),
            0.0,
        );
    }
    gram
}

/// Reduces the symmetric `n×n` matrix whose lower triangle is stored row-major in `a` to
/// tridiagonal form by Householder similarity transforms; returns the diagonal (`n` values) and
/// the off-diagonal (`n − 1` values, entry `i` coupling `i` and `i + 1`). `a` is overwritten.
///
/// Step `t` (from `n − 1` down to 1) takes the reflector `H = I − τ·x·xᵀ` that maps row `t`'s
/// prefix `u = A[t, 0..t]` onto `β·e_{t−1}`, and replaces the leading block `B = A[0..t, 0..t]` by
/// `H·B·H = B − x·wᵀ − w·xᵀ` with `p = τ·B·x`, `w = p − (τ/2)(pᵀx)·x`. That rank-2 update is
/// applied lazily: row by row during the next step's pass, which also forms the next `B·x`.
pub(crate) fn tridiagonalize(a: &mut [f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") && std::arch::is_x86_feature_detected!("fma") {
        #[allow(unsafe_code)]
        // SAFETY: `tridiagonalize_avx_fma` only requires the AVX and FMA instruction sets, and
        // the CPU was just checked to have both.
        return unsafe { tridiagonalize_avx_fma(a, n) };
    }
    tridiagonalize_with::<Plain, BASE_LANES>(a, n)
}

/// [`tridiagonalize`] compiled with AVX and FMA: the same source, so the compiler vectorises the
/// inner loops four `f64` lanes wide and fuses their multiply-adds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,fma")]
fn tridiagonalize_avx_fma(a: &mut [f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    tridiagonalize_with::<Fused, WIDE_LANES>(a, n)
}

/// How the inner loops multiply and add: two roundings, or one fused operation.
trait MulAdd {
    /// Whether the reduction updates rows in pairs ([`update_two_rows_and_multiply`]): faster
    /// with sixteen wide registers, slower than one row at a time with SSE2 (measured).
    const PAIR_ROWS: bool;
    /// `a·b + c`.
    fn mul_add(a: f64, b: f64, c: f64) -> f64;
}

/// `a·b + c` rounded twice: what every x86-64 CPU does fast.
struct Plain;

impl MulAdd for Plain {
    const PAIR_ROWS: bool = false;
    #[inline(always)]
    fn mul_add(a: f64, b: f64, c: f64) -> f64 {
        a * b + c
    }
}

/// `a·b + c` rounded once. Only for code compiled with FMA enabled: elsewhere `f64::mul_add` is a
/// slow library call.
#[cfg(target_arch = "x86_64")]
struct Fused;

#[cfg(target_arch = "x86_64")]
impl MulAdd for Fused {
    const PAIR_ROWS: bool = true;
    #[inline(always)]
    fn mul_add(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
}

/// Independent partial sums in the dot products of the baseline build: two SSE2 registers.
const BASE_LANES: usize = 4;

/// Independent partial sums in the AVX build: four registers of four lanes, enough to hide the
/// latency of the fused multiply-add.
#[cfg(target_arch = "x86_64")]
const WIDE_LANES: usize = 16;

/// The body of [`tridiagonalize`], for either arithmetic; always inlined into its caller so that
/// it is compiled with the caller's target features.
#[inline(always)]
fn tridiagonalize_with<M: MulAdd, const LANES: usize>(
    a: &mut [f64],
    n: usize,
) -> (Vec<f64>, Vec<f64>) {
    debug_assert_eq!(a.len(), n * n);
    let mut diagonal = vec![0.0; n];
    let mut off_diagonal = vec![0.0; n.saturating_sub(1)];
    if n == 0 {
        return (diagonal, off_diagonal);
    }
    // The pending rank-2 update −(v·wᵀ + w·vᵀ) (zero before the first step), the next reflector
    // vector x, and the product p = B·x.
    let mut v = vec![0.0; n];
    let mut w = vec![0.0; n];
    let mut x = vec![0.0; n];
    let mut p = vec![0.0; n];
    for t in (1..n).rev() {
        // Bring row t up to date; it holds u and the final diagonal entry d_t.
        let row_t = &mut a[t * n..t * n + t + 1];
        let (vt, wt) = (v[t], w[t]);
        for ((entry, vk), wk) in row_t.iter_mut().zip(&v[..=t]).zip(&w[..=t]) {
            *entry = M::mul_add(-vt, *wk, M::mul_add(-wt, *vk, *entry));
        }
        diagonal[t] = row_t[t];
        let (tau, beta) = householder(&row_t[..t], &mut x[..t]);
        off_diagonal[t - 1] = beta;

        // One pass over B = A[0..t, 0..t]: apply the pending update, accumulate p = B·x. Rows go
        // two at a time where that is faster, so each load of v, w, x and p serves both.
        p[..t].fill(0.0);
        let mut r = 0;
        while M::PAIR_ROWS && r + 1 < t {
            let (upper, lower) = a.split_at_mut((r + 1) * n);
            let (strict0, diag0) = upper[r * n..r * n + r + 1].split_at_mut(r);
            let (strict1, rest1) = lower[..r + 2].split_at_mut(r);
            let this = RowCoefficients { v: v[r], w: w[r], x: x[r] };
            let next = RowCoefficients { v: v[r + 1], w: w[r + 1], x: x[r + 1] };
            let (dot0, dot1) = update_two_rows_and_multiply::<M, LANES>(
                [strict0, strict1],
                Pending { v: &v[..r], w: &w[..r], x: &x[..r] },
                [this, next],
                &mut p[..r],
            );
            // What the kernel leaves: A[r, r], A[r+1, r] and A[r+1, r+1].
            let a00 = diag0[0] - 2.0 * this.v * this.w;
            diag0[0] = a00;
            let a10 = M::mul_add(-next.v, this.w, M::mul_add(-next.w, this.v, rest1[0]));
            rest1[0] = a10;
            let a11 = rest1[1] - 2.0 * next.v * next.w;
            rest1[1] = a11;
            p[r] += dot0 + a00 * this.x + a10 * next.x;
            p[r + 1] += dot1 + a10 * this.x + a11 * next.x;
            r += 2;
        }
        for r in r..t {
            let row = &mut a[r * n..r * n + r + 1];
            let (strict, diag) = row.split_at_mut(r);
            let this = RowCoefficients { v: v[r], w: w[r], x: x[r] };
            let dot = update_row_and_multiply::<M, LANES>(
                strict,
                Pending { v: &v[..r], w: &w[..r], x: &x[..r] },
                this,
                &mut p[..r],
            );
            let arr = diag[0] - 2.0 * this.v * this.w;
            diag[0] = arr;
            p[r] += dot + arr * this.x;
        }

        // The next pending update: v = x, w = τ·B·x − (τ/2)(τ·xᵀBx)·x.
        let half_k = 0.5 * tau * tau * dot_product::<M, LANES>(&p[..t], &x[..t]);
        for ((wk, pk), xk) in w[..t].iter_mut().zip(&p[..t]).zip(&x[..t]) {
            *wk = tau * pk - half_k * xk;
        }
        v[..t].copy_from_slice(&x[..t]);
    }
    diagonal[0] = a[0] - 2.0 * v[0] * w[0];
    (diagonal, off_diagonal)
}

/// The pending rank-2 update `−(v·wᵀ + w·vᵀ)` and the reflector vector `x`, over the columns
/// left of the rows being updated.
struct Pending<'a> {
    v: &'a [f64],
    w: &'a [f64],
    x: &'a [f64],
}

/// The entries `v[r]`, `w[r]`, `x[r]` of one row `r`.
#[derive(Clone, Copy)]
struct RowCoefficients {
    v: f64,
    w: f64,
    x: f64,
}

/// The fused inner loop over the strict lower part of one row `r` of `B`:
/// `a_rk ← a_rk − (v_r·w_k + w_r·v_k)`, then `p_k += a_rk·x_r`; returns `Σ_k a_rk·x_k`.
#[inline(always)]
fn update_row_and_multiply<M: MulAdd, const LANES: usize>(
    row: &mut [f64],
    pending: Pending<'_>,
    this: RowCoefficients,
    p: &mut [f64],
) -> f64 {
    let len = row.len();
    let (v, w, x, p) = (&pending.v[..len], &pending.w[..len], &pending.x[..len], &mut p[..len]);
    // Two loops over the row (it is at most a few KiB, so the second reads it from L1): the
    // update has no reduction and vectorises as it is; the dot product uses separate lanes.
    for (((entry, vk), wk), pk) in row.iter_mut().zip(v).zip(w).zip(p.iter_mut()) {
        let updated = M::mul_add(-this.v, *wk, M::mul_add(-this.w, *vk, *entry));
        *entry = updated;
        *pk = M::mul_add(updated, this.x, *pk);
    }
    dot_product::<M, LANES>(row, x)
}

/// [`update_row_and_multiply`] for rows `r` and `r + 1` at once, over their first `r` columns
/// (`rows[0]` and `rows[1]` have equal length): one pass that loads `v`, `w`, `x` and `p` once
/// for both rows and keeps both dot products in registers. Returns the two dot products.
#[inline(always)]
fn update_two_rows_and_multiply<M: MulAdd, const LANES: usize>(
    rows: [&mut [f64]; 2],
    pending: Pending<'_>,
    coefficients: [RowCoefficients; 2],
    p: &mut [f64],
) -> (f64, f64) {
    let [row0, row1] = rows;
    let [c0, c1] = coefficients;
    let len = row0.len();
    let (row1, v, w, x, p) =
        (&mut row1[..len], &pending.v[..len], &pending.w[..len], &pending.x[..len], &mut p[..len]);
    let (mut acc0, mut acc1) = ([0.0; LANES], [0.0; LANES]);
    let update = |e: f64, vk: f64, wk: f64, c: RowCoefficients| {
        M::mul_add(-c.v, wk, M::mul_add(-c.w, vk, e))
    };
    let (r0, r0_tail) = row0.as_chunks_mut::<LANES>();
    let (r1, r1_tail) = row1.as_chunks_mut::<LANES>();
    let (p_chunks, p_tail) = p.as_chunks_mut::<LANES>();
    let (v_chunks, v_tail) = v.as_chunks::<LANES>();
    let (w_chunks, w_tail) = w.as_chunks::<LANES>();
    let (x_chunks, x_tail) = x.as_chunks::<LANES>();
    let columns = v_chunks.iter().zip(w_chunks).zip(x_chunks);
    for (((a0, a1), pk), ((vk, wk), xk)) in r0.iter_mut().zip(r1).zip(p_chunks).zip(columns) {
        for l in 0..LANES {
            let e0 = update(a0[l], vk[l], wk[l], c0);
            let e1 = update(a1[l], vk[l], wk[l], c1);
            a0[l] = e0;
            a1[l] = e1;
            pk[l] = M::mul_add(e1, c1.x, M::mul_add(e0, c0.x, pk[l]));
            acc0[l] = M::mul_add(e0, xk[l], acc0[l]);
            acc1[l] = M::mul_add(e1, xk[l], acc1[l]);
        }
    }
    let (mut tail0, mut tail1) = (0.0, 0.0);
    let columns = v_tail.iter().zip(w_tail).zip(x_tail);
    for (((a0, a1), pk), ((vk, wk), xk)) in r0_tail.iter_mut().zip(r1_tail).zip(p_tail).zip(columns)
    {
        let e0 = update(*a0, *vk, *wk, c0);
        let e1 = update(*a1, *vk, *wk, c1);
        *a0 = e0;
        *a1 = e1;
        *pk = M::mul_add(e1, c1.x, M::mul_add(e0, c0.x, *pk));
        tail0 = M::mul_add(e0, *xk, tail0);
        tail1 = M::mul_add(e1, *xk, tail1);
    }
    (pairwise_sum(&mut acc0) + tail0, pairwise_sum(&mut acc1) + tail1)
}

/// `Σ a_k·b_k` in `LANES` independent partial sums, added pairwise at the end.
#[inline(always)]
fn dot_product<M: MulAdd, const LANES: usize>(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; LANES];
    let split = a.len().min(b.len()) / LANES * LANES;
    for (a_chunk, b_chunk) in a[..split].chunks_exact(LANES).zip(b[..split].chunks_exact(LANES)) {
        for l in 0..LANES {
            acc[l] = M::mul_add(a_chunk[l], b_chunk[l], acc[l]);
        }
    }
    let tail = a[split..].iter().zip(&b[split..]).fold(0.0, |s, (x, y)| M::mul_add(*x, *y, s));
    pairwise_sum(&mut acc) + tail
}

/// The sum of `values` by halving (overwrites them); `values.len()` is a power of two.
#[inline(always)]
fn pairwise_sum(values: &mut [f64]) -> f64 {
    let mut len = values.len();
    while len > 1 {
        len /= 2;
        for l in 0..len {
            values[l] += values[l + len];
        }
    }
    values.first().copied().unwrap_or(0.0)
}

/// The elementary reflector (LAPACK `dlarfg`) that maps `u` (length `t ≥ 1`) onto
/// `β·e_{t−1}`: writes its vector to `x` (with `x[t−1] = 1`) and returns `(τ, β)`, so that
/// `(I − τ·x·xᵀ)·u = β·e_{t−1}`. When `u` is already a multiple of `e_{t−1}`, `τ = 0`.
fn householder(u: &[f64], x: &mut [f64]) -> (f64, f64) {
    let t = u.len();
    let alpha = u[t - 1];
    // Work with u / max|u_k| so that squaring neither overflows nor underflows; x and τ do not
    // depend on the scale and β scales back.
    let scale = u[..t - 1].iter().fold(0.0_f64, |m, value| m.max(value.abs()));
    if scale == 0.0 {
        x[..t - 1].fill(0.0);
        x[t - 1] = 1.0;
        return (0.0, alpha);
    }
    let scale = scale.max(alpha.abs());
    let inv = 1.0 / scale;
    let alpha_s = alpha * inv;
    let norm_s = dot_scaled(&u[..t - 1], inv).sqrt();
    let beta_s = -alpha_s.hypot(norm_s).copysign(alpha_s);
    let tau = (beta_s - alpha_s) / beta_s;
    // |α − β| = |α| + |β| ≥ ‖u[..t−1]‖ > 0, so this is finite.
    let factor = inv / (alpha_s - beta_s);
    for (xk, uk) in x[..t - 1].iter_mut().zip(&u[..t - 1]) {
        *xk = uk * factor;
    }
    x[t - 1] = 1.0;
    (tau, beta_s * scale)
}

/// `Σ (u_k·inv)²`.
fn dot_scaled(u: &[f64], inv: f64) -> f64 {
    const LANES: usize = BASE_LANES;
    let mut acc = [0.0; LANES];
    let split = u.len() / LANES * LANES;
    for u4 in u[..split].chunks_exact(LANES) {
        for l in 0..LANES {
            let s = u4[l] * inv;
            acc[l] += s * s;
        }
    }
    let tail: f64 = u[split..].iter().map(|uk| (uk * inv) * (uk * inv)).sum();
    pairwise_sum(&mut acc) + tail
}

/// The QL iteration did not converge within its iteration budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NoConvergence;

/// All eigenvalues (unordered) of the symmetric tridiagonal matrix with `diagonal` and
/// `off_diagonal` (`off_diagonal[i]` couples `i` and `i + 1`), by LAPACK `dsterf`'s
/// square-root-free implicit QL iteration with a Wilkinson-type shift. The matrix is split where an
/// off-diagonal entry is negligible, and each block is scaled by a power of two (exact) to keep
/// the squared entries in range.
pub(crate) fn tridiagonal_eigenvalues(
    diagonal: &[f64],
    off_diagonal: &[f64],
) -> Result<Vec<f64>, NoConvergence> {
    let n = diagonal.len();
    let mut d = diagonal.to_vec();
    if n <= 1 {
        return Ok(d);
    }
    debug_assert_eq!(off_diagonal.len(), n - 1);
    let mut e = off_diagonal.to_vec();
    let eps = f64::EPSILON / 2.0;
    let eps2 = eps * eps;
    let max_iterations = n * QL_ITERATIONS_PER_VALUE;
    let mut iterations = 0;

    let mut start = 0;
    while start < n {
        // Split off the unreduced block start..=end.
        let mut end = start;
        while end + 1 < n {
            let coupling = e[end].abs();
            if coupling == 0.0 || coupling <= d[end].abs().sqrt() * d[end + 1].abs().sqrt() * eps {
                e[end] = 0.0;
                break;
            }
            end += 1;
        }
        if end == start {
            start += 1;
            continue;
        }
        // QL deflates at the top: orient the block so that its smaller-magnitude end is on top
        // (LAPACK switches to QR instead; reversing a tridiagonal block is a similarity).
        if d[end].abs() < d[start].abs() {
            d[start..=end].reverse();
            e[start..end].reverse();
        }
        let block = start..=end;
        // Scale the block to norm about one by a power of two.
        let norm = d[block.clone()]
            .iter()
            .chain(&e[start..end])
            .fold(0.0_f64, |m, value| m.max(value.abs()));
        if norm == 0.0 {
            start = end + 1;
            continue;
        }
        let exponent = norm.log2().round();
        let down = (-exponent).exp2();
        for value in d[block.clone()].iter_mut().chain(e[start..end].iter_mut()) {
            *value *= down;
        }
        // The iteration works on squared off-diagonal entries.
        for value in &mut e[start..end] {
            *value *= *value;
        }
        iterations += ql_block(&mut d, &mut e, start, end, eps2, max_iterations - iterations)?;
        let up = exponent.exp2();
        for value in &mut d[block] {
            *value *= up;
        }
        start = end + 1;
    }
    Ok(d)
}

/// Square-root-free QL on the block `l..=lend` of `d` with squared off-diagonal `e`; returns the
/// number of iterations used (at most `budget`).
fn ql_block(
    d: &mut [f64],
    e: &mut [f64],
    mut l: usize,
    lend: usize,
    eps2: f64,
    budget: usize,
) -> Result<usize, NoConvergence> {
    let mut used = 0;
    while l <= lend {
        // Look for a negligible (squared) off-diagonal entry at or after l.
        let mut m = l;
        while m < lend {
            if e[m].abs() <= eps2 * d[m].abs() * d[m + 1].abs() {
                break;
            }
            m += 1;
        }
        if m < lend {
            e[m] = 0.0;
        }
        if m == l {
            // d[l] is an eigenvalue.
            l += 1;
            continue;
        }
        if m == l + 1 {
            // A 2×2 block: solve it directly.
            let (rt1, rt2) = symmetric_2x2_eigenvalues(d[l], e[l].sqrt(), d[l + 1]);
            d[l] = rt1;
            d[l + 1] = rt2;
            e[l] = 0.0;
            l += 2;
            continue;
        }
        if used == budget {
            return Err(NoConvergence);
        }
        used += 1;
        // Shift from the leading 2×2 (Wilkinson).
        let p = d[l];
        let rte = e[l].sqrt();
        let mut sigma = (d[l + 1] - p) / (2.0 * rte);
        let r = sigma.hypot(1.0);
        sigma = p - rte / (sigma + r.copysign(sigma));

        let mut c = 1.0;
        let mut s = 0.0;
        let mut gamma = d[m] - sigma;
        let mut p = gamma * gamma;
        for i in (l..m).rev() {
            let bb = e[i];
            let r = p + bb;
            if i != m - 1 {
                e[i + 1] = s * r;
            }
            let old_c = c;
            let old_gamma = gamma;
            let alpha = d[i];
            // LAPACK's step divides twice in a row (c = p/r, then γ²/c), and this loop is bound
            // by that chain. With g = p·(α−σ) − bb·γ_old we have γ = g/r and γ²/c = g²/(r·p), so
            // one reciprocal 1/(r·p) gives c, s, γ and the next p. It needs r·p to be a normal
            // number (always, after the block's scaling to norm ≈ 1, unless p is 0 or tiny);
            // otherwise take LAPACK's form.
            let rp = r * p;
            if rp.is_normal() {
                let inv = 1.0 / rp;
                let inv_r = p * inv;
                c = p * inv_r;
                s = bb * inv_r;
                let g = p * (alpha - sigma) - bb * old_gamma;
                gamma = g * inv_r;
                d[i + 1] = old_gamma + (alpha - gamma);
                p = (g * g) * inv;
            } else {
                c = p / r;
                s = bb / r;
                gamma = c * (alpha - sigma) - s * old_gamma;
                d[i + 1] = old_gamma + (alpha - gamma);
                p = if c != 0.0 { (gamma * gamma) / c } else { old_c * bb };
            }
        }
        e[l] = s * p;
        d[l] = sigma + gamma;
    }
    Ok(used)
}

/// Eigenvalues of `[[a, b], [b, c]]`, larger first (LAPACK `dlae2`).
fn symmetric_2x2_eigenvalues(a: f64, b: f64, c: f64) -> (f64, f64) {
    let sum = a + c;
    let diff = a - c;
    let (big, small) = if a.abs() > c.abs() { (a, c) } else { (c, a) };
    let radius = diff.hypot(2.0 * b);
    if sum > 0.0 {
        let rt1 = 0.5 * (sum + radius);
        // rt2 = det / rt1 avoids cancellation.
        (rt1, (big / rt1) * small - (b / rt1) * b)
    } else if sum < 0.0 {
        let rt2 = 0.5 * (sum - radius);
        ((big / rt2) * small - (b / rt2) * b, rt2)
    } else {
        (0.5 * radius, -0.5 * radius)
    }
}

/// All eigenvalues (unordered) of the symmetric `n×n` matrix whose lower triangle is stored
/// row-major in `a` (overwritten).
pub(crate) fn symmetric_eigenvalues(a: &mut [f64], n: usize) -> Result<Vec<f64>, NoConvergence> {
    let (diagonal, off_diagonal) = tridiagonalize(a, n);
    tridiagonal_eigenvalues(&diagonal, &off_diagonal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DMatrix;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};

    /// Agreement asked of the hand-written solver against nalgebra's SVD (relative to ‖A‖₂):
    /// both are backward stable, so they differ by a few `n·ε₆₄`.
    const SOLVER_TOL: f64 = 1e-12;

    fn sorted_abs(mut values: Vec<f64>) -> Vec<f64> {
        values.iter_mut().for_each(|v| *v = v.abs());
        values.sort_by(|a, b| b.total_cmp(a));
        values
    }

    fn random_symmetric(n: usize, seed: u64) -> DMatrix<f64> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let m = DMatrix::from_fn(n, n, |_, _| rng.random_range(-1.0..1.0));
        &m + m.transpose()
    }

    #[test]
    fn second_difference_matrix_by_hand() {
        // tridiag(−1, 2, −1) of order n has eigenvalues 2 − 2·cos(jπ/(n+1)), j = 1..n (the
        // discrete Laplacian: sin(jkπ/(n+1)) are its eigenvectors).
        let n = 50;
        let got = tridiagonal_eigenvalues(&vec![2.0; n], &vec![-1.0; n - 1]).expect("converges");
        let mut got = got;
        got.sort_by(f64::total_cmp);
        for (j, value) in got.iter().enumerate() {
            let exact = 2.0 - 2.0 * ((j + 1) as f64 * std::f64::consts::PI / (n + 1) as f64).cos();
            assert!((value - exact).abs() <= SOLVER_TOL * 4.0, "λ_{j}: {value} vs {exact}");
        }
        // [[2, 1], [1, 2]] has eigenvalues 3 and 1 (trace 4, determinant 3).
        assert_eq!(symmetric_2x2_eigenvalues(2.0, 1.0, 2.0), (3.0, 1.0));
    }

    #[test]
    fn dense_hand_case() {
        // [[2, 1, 0], [1, 2, 1], [0, 1, 2]]: 2 − √2, 2, 2 + √2 (tridiag(1, 2, 1), as above with
        // cos(jπ/4)). Stored as a full row-major matrix; only the lower triangle is read.
        let mut a = vec![2.0, 9.9, 9.9, 1.0, 2.0, 9.9, 0.0, 1.0, 2.0];
        let mut got = symmetric_eigenvalues(&mut a, 3).expect("converges");
        got.sort_by(f64::total_cmp);
        let r = std::f64::consts::SQRT_2;
        for (value, exact) in got.iter().zip([2.0 - r, 2.0, 2.0 + r]) {
            assert!((value - exact).abs() <= SOLVER_TOL * 4.0, "{value} vs {exact}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn eigenvalues_match_nalgebra_svd(n in 1usize..70, seed in any::<u64>()) {
            let a = random_symmetric(n, seed);
            // Singular values of a symmetric matrix are the absolute eigenvalues.
            let reference = sorted_abs(a.singular_values().iter().copied().collect());
            let lower: Vec<f64> = (0..n * n).map(|i| a[(i / n, i % n)]).collect();
            // The dispatched solver (AVX and FMA where the CPU has them) and the baseline copy.
            let got = sorted_abs(symmetric_eigenvalues(&mut lower.clone(), n).expect("converges"));
            let (d, e) = tridiagonalize_with::<Plain, BASE_LANES>(&mut lower.clone(), n);
            let plain = sorted_abs(tridiagonal_eigenvalues(&d, &e).expect("converges"));
            let norm = reference[0].max(f64::MIN_POSITIVE);
            for ((g, p), r) in got.iter().zip(&plain).zip(&reference) {
                prop_assert!((g - r).abs() <= SOLVER_TOL * norm, "n={n}: {g} vs {r}");
                prop_assert!((p - r).abs() <= SOLVER_TOL * norm, "n={n}, baseline: {p} vs {r}");
            }
        }

        #[test]
        fn gram_lower_matches_the_product(
            rows in 1usize..90, cols in 1usize..90, seed in any::<u64>()) {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let data: Vec<f64> = (0..rows * cols).map(|_| rng.random_range(-1.0..1.0)).collect();
            let g = DMatrix::from_row_slice(rows, cols, &data);
            let exact = if rows >= cols { g.transpose() * &g } else { &g * g.transpose() };
            let k = rows.min(cols);
            let got = gram_lower(rows, cols, &data);
            let long = rows.max(cols) as f64;
            for i in 0..k {
                for j in 0..=i {
                    // Each entry is a sum of `long` products of magnitude ≤ 1.
                    prop_assert!((got[i * k + j] - exact[(i, j)]).abs() <= SOLVER_TOL * long);
                }
            }
        }
    }
}
