//! The `ModelMetrics` protobuf carried (base64-encoded) in each record, with
//! just enough protobuf wire format and base64 to read and write it.
//!
//! Schema (proto2, from the official API):
//! `ModelMetrics { repeated EvaluationData evaluation_data = 1; optional int32
//! trainable_parameters = 2; optional double total_time = 3; }` and
//! `EvaluationData { optional double current_epoch = 1; training_time = 2;
//! train_accuracy = 3; validation_accuracy = 4; test_accuracy = 5; optional
//! string checkpoint_path = 6; }`.

/// One evaluation of a trained model (at some epoch).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EvaluationData {
    pub current_epoch: f64,
    /// Seconds of training up to this evaluation.
    pub training_time: f64,
    pub train_accuracy: f64,
    pub validation_accuracy: f64,
    pub test_accuracy: f64,
    pub checkpoint_path: String,
}

/// Metrics of one training run of one cell.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelMetrics {
    /// Evaluations in epoch order; the last one is the final evaluation.
    pub evaluation_data: Vec<EvaluationData>,
    pub trainable_parameters: i32,
    /// Wall-clock seconds of the whole run, evaluations included.
    pub total_time: f64,
}

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

/// A cursor over protobuf wire bytes.
struct Wire<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Wire<'a> {
    fn varint(&mut self) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or("varint runs past the end")?;
            self.pos += 1;
            if shift == 63 && b > 1 {
                return Err("varint overflows 64 bits".into());
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("varint longer than 10 bytes".into())
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| format!("field of {n} bytes runs past the end"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn fixed64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8")))
    }

    /// Next `(field number, wire type)`, or `None` at the end.
    fn key(&mut self) -> Result<Option<(u64, u8)>, String> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let k = self.varint()?;
        Ok(Some((k >> 3, (k & 7) as u8)))
    }

    fn len_delimited(&mut self) -> Result<&'a [u8], String> {
        let n = usize::try_from(self.varint()?).map_err(|_| "length too large")?;
        self.take(n)
    }

    /// Skip a field we do not know, so newer writers stay readable.
    fn skip(&mut self, wire_type: u8) -> Result<(), String> {
        match wire_type {
            VARINT => self.varint().map(drop),
            FIXED64 => self.take(8).map(drop),
            LEN => self.len_delimited().map(drop),
            FIXED32 => self.take(4).map(drop),
            t => Err(format!("unsupported wire type {t}")),
        }
    }

    fn double(&mut self, field: u64, wire_type: u8) -> Result<f64, String> {
        if wire_type != FIXED64 {
            return Err(format!(
                "field {field}: expected a double, wire type {wire_type}"
            ));
        }
        Ok(f64::from_bits(self.fixed64()?))
    }
}

impl EvaluationData {
    /// Decode from protobuf wire bytes.
    pub fn decode(buf: &[u8]) -> Result<Self, String> {
        let mut w = Wire { buf, pos: 0 };
        let mut e = EvaluationData::default();
        while let Some((field, wt)) = w.key()? {
            match field {
                1 => e.current_epoch = w.double(field, wt)?,
                2 => e.training_time = w.double(field, wt)?,
                3 => e.train_accuracy = w.double(field, wt)?,
                4 => e.validation_accuracy = w.double(field, wt)?,
                5 => e.test_accuracy = w.double(field, wt)?,
                6 if wt == LEN => {
                    e.checkpoint_path = String::from_utf8(w.len_delimited()?.to_vec())
                        .map_err(|_| "checkpoint_path is not UTF-8")?;
                }
                _ => w.skip(wt)?,
            }
        }
        Ok(e)
    }

    /// Encode to protobuf wire bytes (every field written, as proto2 does for set fields).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48 + self.checkpoint_path.len());
        for (field, v) in [
            (1, self.current_epoch),
            (2, self.training_time),
            (3, self.train_accuracy),
            (4, self.validation_accuracy),
            (5, self.test_accuracy),
        ] {
            put_varint(&mut out, (field << 3) | u64::from(FIXED64));
            out.extend_from_slice(&f64::to_bits(v).to_le_bytes());
        }
        put_len_delimited(&mut out, 6, self.checkpoint_path.as_bytes());
        out
    }
}

impl ModelMetrics {
    /// Decode from protobuf wire bytes.
    pub fn decode(buf: &[u8]) -> Result<Self, String> {
        let mut w = Wire { buf, pos: 0 };
        let mut m = ModelMetrics::default();
        while let Some((field, wt)) = w.key()? {
            match (field, wt) {
                (1, LEN) => m
                    .evaluation_data
                    .push(EvaluationData::decode(w.len_delimited()?)?),
                // int32 is varint-encoded; negative values are sign-extended
                // to 64 bits, so truncating back to 32 bits is exact.
                (2, VARINT) => m.trainable_parameters = w.varint()? as i32,
                (3, _) => m.total_time = w.double(field, wt)?,
                _ => w.skip(wt)?,
            }
        }
        Ok(m)
    }

    /// Encode to protobuf wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for e in &self.evaluation_data {
            put_len_delimited(&mut out, 1, &e.encode());
        }
        put_varint(&mut out, (2 << 3) | u64::from(VARINT));
        put_varint(&mut out, i64::from(self.trainable_parameters) as u64);
        put_varint(&mut out, (3 << 3) | u64::from(FIXED64));
        out.extend_from_slice(&self.total_time.to_bits().to_le_bytes());
        out
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_len_delimited(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_varint(out, (field << 3) | u64::from(LEN));
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with `=` padding (what Python's `base64.b64encode` writes).
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decode standard base64; padding is optional, anything outside the
/// alphabet is an error.
pub fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let body = text.trim_end_matches('=');
    if text.len() - body.len() > 2 {
        return Err("too much base64 padding".into());
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for (i, c) in body.bytes().enumerate() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(format!("invalid base64 byte {c:#04x} at {i}")),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // A lone trailing character carries fewer than 8 bits: malformed input.
    if body.len() % 4 == 1 {
        return Err("base64 text has an impossible length".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, enc) in cases {
            assert_eq!(base64_encode(plain.as_bytes()), enc);
            assert_eq!(base64_decode(enc).unwrap(), plain.as_bytes());
            assert_eq!(
                base64_decode(enc.trim_end_matches('=')).unwrap(),
                plain.as_bytes()
            );
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(base64_decode(&base64_encode(&all)).unwrap(), all);
        assert!(base64_decode("Zm9v!").is_err());
        assert!(base64_decode("Z").is_err());
    }

    #[test]
    fn varint_and_protobuf_round_trip() {
        let m = ModelMetrics {
            evaluation_data: vec![
                EvaluationData {
                    current_epoch: 0.0,
                    training_time: 0.0,
                    train_accuracy: 0.1,
                    validation_accuracy: 0.09,
                    test_accuracy: 0.1,
                    checkpoint_path: String::new(),
                },
                EvaluationData {
                    current_epoch: 108.0,
                    training_time: 1155.85,
                    train_accuracy: 1.0,
                    validation_accuracy: 0.9376,
                    test_accuracy: 0.9312,
                    checkpoint_path: "gs://bucket/ckpt-108".into(),
                },
            ],
            trainable_parameters: 2_694_282,
            total_time: 1769.1,
        };
        assert_eq!(ModelMetrics::decode(&m.encode()).unwrap(), m);
        let neg = ModelMetrics {
            trainable_parameters: -5,
            ..Default::default()
        };
        assert_eq!(ModelMetrics::decode(&neg.encode()).unwrap(), neg);
    }

    #[test]
    fn unknown_fields_are_skipped() {
        let mut buf = Vec::new();
        put_varint(&mut buf, (9 << 3) | u64::from(VARINT));
        put_varint(&mut buf, 300);
        put_len_delimited(&mut buf, 10, b"junk");
        buf.extend_from_slice(&[(11 << 3) | FIXED32, 1, 2, 3, 4]);
        put_varint(&mut buf, (2 << 3) | u64::from(VARINT));
        put_varint(&mut buf, 42);
        let m = ModelMetrics::decode(&buf).unwrap();
        assert_eq!(m.trainable_parameters, 42);
        assert!(ModelMetrics::decode(&buf[..buf.len() - 1]).is_err());
    }
}
