use super::fixture::{record_payload, synthetic_records, write_tfrecord_fixture, FixtureRecord};
use super::*;
use crate::rng::Stream;
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh path under the system temp dir, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "searchkit-nb101-{tag}-{}-{}.tfrecord",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        TempFile(std::env::temp_dir().join(name))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn fixture_records() -> Vec<FixtureRecord> {
    let mut rng = Stream::root("nb101-fixture-test");
    synthetic_records(20, 3, &[54, 108], &mut rng)
}

#[test]
fn nb101_fixture_round_trips_exactly() {
    let recs = fixture_records();
    assert_eq!(recs.len(), 60);
    let tmp = TempFile::new("roundtrip");
    write_tfrecord_fixture(&tmp.0, &recs).unwrap();
    let table = Nb101Table::load(&tmp.0).unwrap();
    assert_eq!(table.len(), 20);
    for group in recs.chunks(3) {
        let r = table.get_by_hash(&group[0].hash).expect("hash present");
        assert_eq!(r.hash.to_string(), group[0].hash);
        assert_eq!(r.cell, group[0].cell);
        assert_eq!(r.params as i32, group[0].metrics.trainable_parameters);
        assert_eq!(r.repeats.len(), 3);
        for (rep, src) in r.repeats.iter().zip(group) {
            let fin = &src.metrics.evaluation_data[1];
            let half = &src.metrics.evaluation_data[0];
            assert_eq!(rep.final_epoch, 108.0);
            assert_eq!(rep.final_train_acc, fin.train_accuracy);
            assert_eq!(rep.final_valid_acc, fin.validation_accuracy);
            assert_eq!(rep.final_test_acc, fin.test_accuracy);
            assert_eq!(rep.training_time, fin.training_time);
            assert_eq!(rep.total_time, src.metrics.total_time);
            assert_eq!(rep.halfway, Some(EvalPoint::from(half)));
            assert_eq!(rep.halfway.unwrap().epoch, 54.0);
        }
        let m = group
            .iter()
            .map(|s| s.metrics.evaluation_data[1].validation_accuracy)
            .sum::<f64>()
            / 3.0;
        assert!((r.mean_valid_acc() - m).abs() < 1e-15);
    }
    // File order is kept.
    let order: Vec<String> = table.iter().map(|r| r.hash.to_string()).collect();
    let expect: Vec<String> = recs.chunks(3).map(|g| g[0].hash.clone()).collect();
    assert_eq!(order, expect);
    let best = table.best_by(Metric::MeanValidAcc).unwrap();
    assert!(table
        .iter()
        .all(|r| r.mean_valid_acc() <= best.mean_valid_acc()));
    assert!(table.get_by_hash("not-a-hash").is_none());
    assert!(table.get_by_hash(&"0".repeat(32)).is_none());
}

#[test]
fn nb101_payload_matches_official_layout() {
    let rec = &fixture_records()[0];
    let p = record_payload(rec);
    assert!(p.starts_with(&format!("[\"{}\", 108, \"", rec.hash)));
    let v: serde_json::Value = serde_json::from_str(&p).unwrap();
    let a = v.as_array().unwrap();
    assert_eq!(a.len(), 5);
    let n = rec.cell.num_vertices();
    assert_eq!(a[2].as_str().unwrap().len(), n * n);
    assert!(a[3].as_str().unwrap().starts_with("input,"));
    assert!(a[3].as_str().unwrap().ends_with(",output"));
}

#[test]
fn nb101_other_epoch_budgets_are_skipped() {
    let mut recs = fixture_records();
    for r in &mut recs[..3] {
        r.epochs = 36;
    }
    let tmp = TempFile::new("epochs");
    write_tfrecord_fixture(&tmp.0, &recs).unwrap();
    assert_eq!(Nb101Table::load(&tmp.0).unwrap().len(), 19);
    assert_eq!(Nb101Table::load_epochs(&tmp.0, 36).unwrap().len(), 1);
}

#[test]
fn nb101_crc_mismatch_is_reported() {
    let recs = fixture_records();
    let tmp = TempFile::new("crc");
    write_tfrecord_fixture(&tmp.0, &recs).unwrap();
    let mut bytes = std::fs::read(&tmp.0).unwrap();
    let first_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let second = 12 + first_len + 4;
    // Flip a data byte of record 1.
    bytes[second + 12 + 5] ^= 0x20;
    std::fs::write(&tmp.0, &bytes).unwrap();
    match Nb101Table::load(&tmp.0) {
        Err(
            e @ Nb101Error::Crc {
                record: 1,
                what: "data",
                ..
            },
        ) => {
            let msg = e.to_string();
            assert!(msg.contains(&tmp.0.display().to_string()) && msg.contains("record 1"));
        }
        other => panic!("expected a data CRC error, got {other:?}"),
    }
    // Corrupt record 1's length field instead.
    bytes[second + 5] ^= 0x20;
    bytes[second + 12 + 5] ^= 0x20;
    std::fs::write(&tmp.0, &bytes).unwrap();
    assert!(matches!(
        Nb101Table::load(&tmp.0),
        Err(Nb101Error::Crc {
            record: 1,
            what: "length",
            ..
        })
    ));
}

#[test]
fn nb101_truncation_is_reported() {
    let recs = fixture_records();
    let tmp = TempFile::new("trunc");
    write_tfrecord_fixture(&tmp.0, &recs).unwrap();
    let bytes = std::fs::read(&tmp.0).unwrap();
    // Cut inside the last record's data, then inside a header.
    for cut in [bytes.len() - 10, bytes.len() - 3, 5] {
        std::fs::write(&tmp.0, &bytes[..cut]).unwrap();
        match Nb101Table::load(&tmp.0) {
            Err(e @ Nb101Error::Truncated { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("record"), "{msg}");
                if cut > 5 {
                    assert!(msg.contains("record 59"), "{msg}");
                } else {
                    assert!(msg.contains("record 0"), "{msg}");
                }
            }
            other => panic!("cut at {cut}: expected truncation, got {other:?}"),
        }
    }
    // An empty file is a valid, empty table.
    std::fs::write(&tmp.0, b"").unwrap();
    assert!(Nb101Table::load(&tmp.0).unwrap().is_empty());
}

#[test]
fn nb101_bad_payload_names_record() {
    let tmp = TempFile::new("payload");
    let mut out = Vec::new();
    tfrecord::write_record(&mut out, b"[\"abc\", 108, \"0\", \"input\", \"\"]").unwrap();
    std::fs::write(&tmp.0, &out).unwrap();
    let err = Nb101Table::load(&tmp.0).unwrap_err();
    assert!(matches!(err, Nb101Error::Format { record: 0, .. }), "{err}");
}

#[test]
fn nb101_locate_errors_are_actionable() {
    let missing = std::env::temp_dir().join("searchkit-nb101-definitely-missing.tfrecord");
    let msg = locate(Some(&missing)).unwrap_err().to_string();
    for needle in [ENV_VAR, CONFIG_KEY, FILE_NAME, DOWNLOAD_URL, "499 MB"] {
        assert!(msg.contains(needle), "{needle} missing from: {msg}");
    }
    let msg = Nb101Table::load(&missing).unwrap_err().to_string();
    assert!(msg.contains(DOWNLOAD_URL), "{msg}");
    // An existing explicit file (or its folder) resolves without the env var.
    let tmp = TempFile::new("locate");
    std::fs::write(&tmp.0, b"").unwrap();
    assert_eq!(locate(Some(&tmp.0)).unwrap(), tmp.0);
}

#[test]
fn nb101_cell_parsing() {
    let c = Nb101Cell::from_raw(
        "0110000100001000",
        "input,conv3x3-bn-relu,maxpool3x3,output",
    );
    // Row 3 is "1000": an edge 3->0 below the diagonal.
    assert!(c.is_err());
    let c = Nb101Cell::from_raw(
        "0110000100010000",
        "input,conv3x3-bn-relu,maxpool3x3,output",
    )
    .unwrap();
    assert_eq!(c.num_vertices(), 4);
    assert_eq!(c.num_edges(), 4);
    assert_eq!(c.raw_adjacency(), "0110000100010000");
    assert_eq!(
        c.raw_operations(),
        "input,conv3x3-bn-relu,maxpool3x3,output"
    );
    assert_eq!(c.pruned().unwrap(), c);
    assert!("conv5x5".parse::<Op>().is_err());
    let h: ModuleHash = "00112233445566778899aabbccddeeff".parse().unwrap();
    assert_eq!(h.to_string(), "00112233445566778899aabbccddeeff");
}

#[test]
fn nb101_naslib_sample_invariants() {
    let s = naslib_sample();
    assert_eq!(s.len(), 500);
    for r in s {
        let c = &r.cell;
        assert_eq!(c.num_vertices(), 7);
        assert_eq!(c.ops[0], Op::Input);
        assert_eq!(c.ops[6], Op::Output);
        c.validate().unwrap();
        for i in 0..7 {
            for j in 0..=i {
                assert!(!c.adjacency[i][j], "not upper triangular");
            }
        }
        // Stored specs are unpruned; the trained graph obeys the 9-edge limit.
        let p = c.pruned().expect("output reachable");
        assert!(p.num_edges() <= MAX_EDGES);
        assert!(r.params > 0 && r.mflops > 0.0);
        assert!(r.val_accuracy > 0.0 && r.val_accuracy < 1.0);
    }
    // First entry of the file, checked against the raw JSON.
    let first = &s[0];
    assert_eq!(first.params, 4_095_778);
    assert_eq!(first.mflops, 624.55808);
    assert!((first.val_accuracy - 0.92578125).abs() < 1e-12);
    assert_eq!(first.zero_cost.synflow, 88.08498394991342);
    assert_eq!(
        first.cell.ops,
        vec![
            Op::Input,
            Op::MaxPool3x3,
            Op::MaxPool3x3,
            Op::Conv3x3,
            Op::Conv3x3,
            Op::Conv3x3,
            Op::Output
        ]
    );
}

#[test]
fn nb101_locate_without_config_names_env_var() {
    if std::env::var_os(ENV_VAR).is_none() {
        let msg = locate(None).unwrap_err().to_string();
        assert!(msg.contains(ENV_VAR) && msg.contains(DOWNLOAD_URL), "{msg}");
    }
}

/// Loads the real file; run with `NASBENCH101_TFRECORD=... cargo test -- --ignored`.
#[test]
#[ignore = "needs the 499 MB nasbench_only108.tfrecord"]
fn nb101_official_file_loads() {
    let path = locate(None).unwrap();
    let table = Nb101Table::load(&path).unwrap();
    assert_eq!(table.len(), 423_624);
    assert!(table.iter().all(|r| r.repeats.len() == 3));
    assert!(table
        .iter()
        .all(|r| r.cell.pruned().as_ref() == Some(&r.cell)));
    assert!(table.iter().all(|r| r.cell.num_edges() <= MAX_EDGES));
    let best = table.best_by(Metric::MeanValidAcc).unwrap();
    assert!(best.mean_valid_acc() > 0.94 && best.mean_valid_acc() < 0.96);
}
