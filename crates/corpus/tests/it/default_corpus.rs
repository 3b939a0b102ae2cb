//! The real default corpus (SPEC §8), read from the cache that `cargo xtask setup` fills.
//! Without setup these tests fail with the corpus crate's own message: "run `cargo xtask
//! setup`". The tokenizers they train are cached there too, so only the first run trains.

use std::process::Command;

use corpus::{
    CorpusSource, DEFAULT_PLAY_COUNT, DataConfig, END_OF_TEXT, Split, default_cache_dir,
    load_corpus, prepare,
};

#[test]
fn the_plays_load_clean() {
    let docs = load_corpus(&CorpusSource::Default, &default_cache_dir()).expect("run setup first");
    assert_eq!(docs.len(), DEFAULT_PLAY_COUNT);
    assert!(docs.iter().any(|d| d.name == "tragedies/macbeth.md"));
    for doc in &docs {
        // The plays use `#`, `*`, `_` and `\` only as markup, so none may survive cleaning.
        for bad in ['*', '_', '\\', '<', '>'] {
            assert!(!doc.text.contains(bad), "{} still contains {bad:?}", doc.name);
        }
        assert!(!doc.text.lines().any(|l| l.starts_with('#') || l.ends_with(' ')), "{}", doc.name);
        assert!(!doc.text.contains("\n\n\n"), "{}", doc.name);
    }
    let macbeth = &docs.iter().find(|d| d.name == "tragedies/macbeth.md").expect("macbeth").text;
    assert!(macbeth.starts_with("Macbeth\n\nACT I\n\nSCENE I. A desert place.\n\n"));
    assert!(macbeth.contains("\nALL\nFair is foul, and foul is fair:\nHover through the fog"));
}

#[test]
fn smoke_profile_round_trips_every_play() {
    let cache = default_cache_dir();
    let data = prepare(&DataConfig::smoke(), &cache).expect("run setup first");
    assert_eq!(data.vocab_size(), 512);
    // 38 documents: validation round(3.8) = 4, adapt round(7.6) = 8, pretrain 26.
    let s = &data.split;
    assert_eq!((s.pretrain.len(), s.adapt.len(), s.validation.len()), (26, 8, 4));
    let docs = load_corpus(&CorpusSource::Default, &cache).expect("load");
    for doc in &docs {
        let ids = data.tokenizer.encode(&doc.text).expect("encode");
        assert_eq!(data.tokenizer.decode(&ids).expect("decode"), doc.text, "{}", doc.name);
    }
    let validation = data.tokenizer.decode(&data.validation.to_vec()).expect("decode");
    assert_eq!(validation.matches(END_OF_TEXT).count(), 4);
    for split in Split::ALL {
        assert!(data.stream(split).len() > 10_000, "{split}");
    }
}

#[test]
fn paper_profile_has_exactly_15007_tokens_and_loads_in_python() {
    let data = prepare(&DataConfig::paper(), &default_cache_dir()).expect("run setup first");
    assert_eq!(data.vocab_size(), 15_007);
    let sample = "Tomorrow, and tomorrow, and tomorrow,\nCreeps in this petty pace — 1623.";
    let ids = data.tokenizer.encode(sample).expect("encode");
    assert_eq!(data.tokenizer.decode(&ids).expect("decode"), sample);

    // Python's `tokenizers` must load the same file unchanged and agree on the ids. Runs when
    // `python3` can import `tokenizers` (pip install tokenizers); otherwise says so and stops.
    let python = std::env::var("RANKWISE_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = "import sys, json\nfrom tokenizers import Tokenizer\n\
                  t = Tokenizer.from_file(sys.argv[1])\n\
                  print(json.dumps([t.get_vocab_size(), t.encode(sys.argv[2]).ids]))";
    let out =
        Command::new(&python).args(["-c", script]).arg(&data.tokenizer.path).arg(sample).output();
    match out {
        Ok(out) if out.status.success() => {
            let got: (usize, Vec<u32>) =
                serde_json::from_slice(&out.stdout).expect("python printed JSON");
            assert_eq!(got, (15_007, ids), "Python's tokenizers disagrees with the Rust one");
        }
        Ok(out)
            if String::from_utf8_lossy(&out.stderr).contains("No module named 'tokenizers'") =>
        {
            println!("note: Python `tokenizers` not installed; the cross-check was not run");
        }
        Ok(out) => panic!("python failed: {}", String::from_utf8_lossy(&out.stderr)),
        Err(e) => println!("note: {python} not found ({e}); the Python cross-check was not run"),
    }
}
