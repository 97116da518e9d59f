//! The embedded NAS-Bench-201 table: one [`Record`] per cell, in official
//! index order, parsed from the gzip CSVs once on first use.

use super::{cost, Cell, Dataset, Metric, NUM_CELLS};
use crate::problem::Sense;
use flate2::read::GzDecoder;
use std::sync::OnceLock;

static TEST_200EP: &[u8] = include_bytes!("../../../../../data/nb201/nats_tss_200ep_test.csv.gz");
static CIFAR10_VALID: &[u8] =
    include_bytes!("../../../../../data/nb201/cifar10_valid_200ep.csv.gz");
static MINI_12EP: &[u8] = include_bytes!("../../../../../data/nb201/mini_12ep.csv.gz");

/// Everything known about one cell. Per-dataset arrays are indexed by
/// [`Dataset::position`]; accuracies in %, params and FLOPs in millions.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// Official index.
    pub index: usize,
    pub cell: Cell,
    /// 200-epoch test accuracy, mean over seeds.
    pub test_accuracy: [f64; 3],
    /// 'cifar10-valid' setting, 200 epochs: validation accuracy.
    pub cifar10_valid_validation: f64,
    /// 'cifar10-valid' setting, 200 epochs: test accuracy.
    pub cifar10_valid_test: f64,
    /// 12-epoch test accuracy.
    pub test12: [f64; 3],
    /// 12-epoch validation accuracy.
    pub valid12: [f64; 3],
    /// [`super::params`] per dataset.
    pub params: [f64; 3],
    /// [`super::flops`] (NB-201 API convention) per dataset.
    pub flops: [f64; 3],
    /// Total 200-epoch training time (s), 'cifar10-valid' setting.
    pub train_time: f64,
}

impl Record {
    /// The value of one metric.
    pub fn value(&self, metric: Metric) -> f64 {
        match metric {
            Metric::TestAccuracy(d) => self.test_accuracy[d.position()],
            Metric::Cifar10ValidValidation => self.cifar10_valid_validation,
            Metric::Cifar10ValidTest => self.cifar10_valid_test,
            Metric::Test12(d) => self.test12[d.position()],
            Metric::Valid12(d) => self.valid12[d.position()],
            Metric::Params(d) => self.params[d.position()],
            Metric::Flops(d) => self.flops[d.position()],
            Metric::TrainTime => self.train_time,
        }
    }
}

/// All 15,625 records, with a cell -> official index lookup.
#[derive(Debug)]
pub struct Table {
    records: Vec<Record>,
    /// Official index by [`Cell::code`].
    by_code: Vec<u16>,
}

/// The embedded table (parsed on first call).
pub fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(Table::load)
}

struct Csv {
    name: &'static str,
    headers: csv::StringRecord,
    rows: Vec<csv::StringRecord>,
}

impl Csv {
    fn read(name: &'static str, gz: &[u8]) -> Self {
        let mut reader = csv::Reader::from_reader(GzDecoder::new(gz));
        let headers = reader
            .headers()
            .unwrap_or_else(|e| panic!("nb201 {name}: bad header: {e}"))
            .clone();
        let rows: Vec<_> = reader
            .records()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("nb201 {name}: bad CSV: {e}"));
        assert_eq!(rows.len(), NUM_CELLS, "nb201 {name}: wrong row count");
        Self {
            name,
            headers,
            rows,
        }
    }

    fn col(&self, header: &str) -> usize {
        self.headers
            .iter()
            .position(|h| h == header)
            .unwrap_or_else(|| panic!("nb201 {}: no column '{header}'", self.name))
    }

    fn text(&self, row: usize, col: usize) -> &str {
        &self.rows[row][col]
    }

    fn num(&self, row: usize, col: usize) -> f64 {
        let s = self.text(row, col);
        s.trim().parse().unwrap_or_else(|_| {
            panic!(
                "nb201 {}: row {row} column '{}' is not a number: '{s}'",
                self.name, &self.headers[col]
            )
        })
    }

    /// Rows must be in official order: check the index column and the arch string.
    fn check_order(&self, index_col: &str, arch_col: &str, arch: &[String]) {
        let (ic, ac) = (self.col(index_col), self.col(arch_col));
        for (i, a) in arch.iter().enumerate() {
            assert!(
                self.text(i, ic).trim().parse::<usize>() == Ok(i) && self.text(i, ac) == a,
                "nb201 {}: row {i} is not official index {i}",
                self.name
            );
        }
    }
}

impl Table {
    pub(super) fn load() -> Self {
        let test = Csv::read("nats_tss_200ep_test", TEST_200EP);
        let valid = Csv::read("cifar10_valid_200ep", CIFAR10_VALID);
        let mini = Csv::read("mini_12ep", MINI_12EP);

        let arch_col = test.col("ArchitectureString");
        let arch: Vec<String> = (0..NUM_CELLS)
            .map(|i| test.text(i, arch_col).to_string())
            .collect();
        valid.check_order("index", "arch_str", &arch);
        mini.check_order("index", "cellstr", &arch);

        let t = [
            test.col("CIFAR10TestAccuracy200Epochs"),
            test.col("CIFAR100TestAccuracy200Epochs"),
            test.col("ImageNetTestAccuracy200Epochs"),
        ];
        let (v_valid, v_test, v_time) = (
            valid.col("valid-accuracy"),
            valid.col("test-accuracy"),
            valid.col("train-all-time"),
        );
        let m_test = [
            mini.col("cifar10-test"),
            mini.col("cifar100-test"),
            mini.col("imagenet-test"),
        ];
        let m_val = [
            mini.col("cifar10-val"),
            mini.col("cifar100-val"),
            mini.col("imagenet-val"),
        ];

        let mut by_code = vec![u16::MAX; NUM_CELLS];
        let records: Vec<Record> = arch
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let cell = Cell::from_arch_str(a).unwrap_or_else(|e| panic!("nb201 row {i}: {e}"));
                assert_eq!(by_code[cell.code()], u16::MAX, "nb201: {a} appears twice");
                by_code[cell.code()] = i as u16;
                let per = |f: &dyn Fn(Dataset) -> f64| Dataset::ALL.map(f);
                Record {
                    index: i,
                    cell,
                    test_accuracy: t.map(|c| test.num(i, c)),
                    cifar10_valid_validation: valid.num(i, v_valid),
                    cifar10_valid_test: valid.num(i, v_test),
                    test12: m_test.map(|c| mini.num(i, c)),
                    valid12: m_val.map(|c| mini.num(i, c)),
                    params: per(&|d| cost::params(cell, d)),
                    flops: per(&|d| cost::flops(cell, d)),
                    train_time: valid.num(i, v_time),
                }
            })
            .collect();
        Self { records, by_code }
    }

    /// Number of cells (15,625).
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Never true; for API completeness.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The record at an official index; panics if `index >= 15625`.
    pub fn get(&self, index: usize) -> &Record {
        self.try_get(index).unwrap_or_else(|| {
            panic!("NAS-Bench-201 index {index} is out of range (0..{NUM_CELLS})")
        })
    }

    /// The record at an official index, if in range.
    pub fn try_get(&self, index: usize) -> Option<&Record> {
        self.records.get(index)
    }

    /// All records, in official index order.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The official index of a cell.
    pub fn index_of(&self, cell: Cell) -> usize {
        self.by_code[cell.code()] as usize
    }

    /// The record of a cell.
    pub fn record_of(&self, cell: Cell) -> &Record {
        &self.records[self.index_of(cell)]
    }

    /// One metric of the cell at an official index.
    pub fn value(&self, index: usize, metric: Metric) -> f64 {
        self.get(index).value(metric)
    }

    /// One metric for every cell, in official index order.
    pub fn column(&self, metric: Metric) -> Vec<f64> {
        self.records.iter().map(|r| r.value(metric)).collect()
    }

    /// `(official index, value)` of the best cell under the metric's
    /// [`Metric::sense`]; ties go to the lowest index.
    pub fn best(&self, metric: Metric) -> (usize, f64) {
        let sign = match metric.sense() {
            Sense::Maximize => 1.0,
            Sense::Minimize => -1.0,
        };
        let mut best = (0, self.records[0].value(metric));
        for r in &self.records[1..] {
            let v = r.value(metric);
            if sign * v > sign * best.1 {
                best = (r.index, v);
            }
        }
        best
    }
}
