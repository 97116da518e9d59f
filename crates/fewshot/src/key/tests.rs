use super::*;
use searchkit::nasbench::nb201::{Cell, NUM_CELLS};
use std::collections::HashSet;
use std::io::Read;

static KEYS: &[u8] = include_bytes!("../../../../data/fewshot/nasbench201.json.gz");

#[test]
fn every_cell_round_trips() {
    for i in 0..NUM_CELLS {
        let cell = Cell::from_index(i).unwrap();
        assert_eq!(cell_from_fewshot_key(&fewshot_key(cell)).unwrap(), cell);
    }
}

#[test]
fn key_lists_inputs_per_node() {
    let c = Cell::from_arch_str(
        "|none~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|none~2|",
    )
    .unwrap();
    assert_eq!(
        fewshot_key(c),
        "[(('none', 0),), (('skip_connect', 0), ('nor_conv_1x1', 1)), \
         (('nor_conv_3x3', 0), ('avg_pool_3x3', 1), ('none', 2))]"
    );
    // Whitespace and quote style do not matter.
    let loose = r#"[ ( ("none",0) , ) ,(("skip_connect",0),("nor_conv_1x1",1)),
        (("nor_conv_3x3", 0), ("avg_pool_3x3", 1), ("none", 2),) ]"#;
    assert_eq!(cell_from_fewshot_key(loose).unwrap(), c);
}

#[test]
fn keys_match_the_authors_file() {
    let mut text = String::new();
    flate2::read::GzDecoder::new(KEYS)
        .read_to_string(&mut text)
        .unwrap();
    let keys: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(keys.len(), NUM_CELLS);
    let mut seen = HashSet::new();
    for key in keys.keys() {
        let cell = cell_from_fewshot_key(key).unwrap();
        assert_eq!(&fewshot_key(cell), key, "formatting differs from the file");
        seen.insert(cell);
    }
    assert_eq!(seen.len(), NUM_CELLS);
}

#[test]
fn bad_keys_say_what_is_wrong() {
    let m = cell_from_fewshot_key(
        "[(('conv', 0),), (('none', 0), ('none', 1)), (('none', 0), ('none', 1), ('none', 2))]",
    )
    .unwrap_err()
    .to_string();
    assert!(m.starts_with("unknown op 'conv' in few-shot key"), "{m}");
    assert!(
        m.ends_with("valid ops: none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3"),
        "{m}"
    );
    for (key, why) in [
        ("[(('none', 0),), (('none', 0),), (('none', 0), ('none', 1), ('none', 2))]", "node 2 lists 1 inputs"),
        ("[(('none', 0),), (('none', 0), ('none', 0)), (('none', 0), ('none', 1), ('none', 2))]", "lists input 0 twice"),
        ("[(('none', 1),), (('none', 0), ('none', 1)), (('none', 0), ('none', 1), ('none', 2))]", "node 1 cannot take input 1"),
        ("[(('none', 0),), (('none', 0), ('none', 1)), (('none', 0), ('none', 1), ('none', 2))] x", "trailing text"),
        ("[(('none', 0),), (('none', 0), ('none', 1))]", "expected ','"),
        ("[(('none', 0),), (('none', 0), ('none', 1)), (('none', 0), ('none', 1), ('none', x))]", "input node number"),
        ("[((none, 0),), (('none', 0), ('none', 1)), (('none', 0), ('none', 1), ('none', 2))]", "quoted op name"),
    ] {
        let m = cell_from_fewshot_key(key).unwrap_err().to_string();
        assert!(m.starts_with("malformed few-shot key") && m.contains(why), "{m}");
    }
}
