//! The down-scaled stand-in for UCF11: short clips of a Fashion-MNIST item
//! moving on a black canvas (pure Rust: no libtorch needed).
//!
//! Each clip shows one 28 x 28 item (from the embedded subset of
//! Fashion-MNIST: the first 5,000 training and first 1,000 test images, see
//! `data/MANIFEST.md`) on a `canvas x canvas` canvas for `frames` frames. The
//! item starts at a uniformly drawn position and moves with a constant
//! velocity of at most `max_speed` pixels per frame in each direction,
//! bouncing off the borders. The label is the item's class (10 classes).
//! Clips are drawn from a stream of their own, so every method and seed sees
//! the same clips.

use flate2::read::GzDecoder;
use searchkit::rng::Stream;
use std::io::Read;

const TRAIN_IMAGES: &[u8] =
    include_bytes!("../../../data/fashion-mnist/train-5000-images-idx3-ubyte.gz");
const TRAIN_LABELS: &[u8] =
    include_bytes!("../../../data/fashion-mnist/train-5000-labels-idx1-ubyte.gz");
const TEST_IMAGES: &[u8] =
    include_bytes!("../../../data/fashion-mnist/t10k-1000-images-idx3-ubyte.gz");
const TEST_LABELS: &[u8] =
    include_bytes!("../../../data/fashion-mnist/t10k-1000-labels-idx1-ubyte.gz");

/// Fashion-MNIST class names, in label order.
pub const CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// 28 x 28 grey images (row-major bytes) with their labels.
#[derive(Clone, Debug)]
pub struct Images {
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
    pub labels: Vec<u8>,
}

impl Images {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    fn image(&self, i: usize) -> &[u8] {
        let n = self.rows * self.cols;
        &self.pixels[i * n..(i + 1) * n]
    }
}

fn gunzip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| format!("corrupt gzip: {e}"))?;
    Ok(out)
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Parses a pair of (gzip-compressed) IDX files, the format of the
/// original MNIST / Fashion-MNIST distribution.
pub fn parse_idx(images_gz: &[u8], labels_gz: &[u8]) -> Result<Images, String> {
    let im = gunzip(images_gz)?;
    let lb = gunzip(labels_gz)?;
    if im.len() < 16 || be_u32(&im, 0) != 2051 {
        return Err("not an IDX image file (magic 2051)".into());
    }
    if lb.len() < 8 || be_u32(&lb, 0) != 2049 {
        return Err("not an IDX label file (magic 2049)".into());
    }
    let n = be_u32(&im, 4) as usize;
    let rows = be_u32(&im, 8) as usize;
    let cols = be_u32(&im, 12) as usize;
    if be_u32(&lb, 4) as usize != n {
        return Err("image and label files disagree on the number of items".into());
    }
    if im.len() != 16 + n * rows * cols || lb.len() != 8 + n {
        return Err("IDX file is truncated".into());
    }
    Ok(Images {
        rows,
        cols,
        pixels: im[16..].to_vec(),
        labels: lb[8..].to_vec(),
    })
}

/// The embedded subset: (first 5,000 training images, first 1,000 test images).
pub fn fashion_mnist_subset() -> (Images, Images) {
    let train = parse_idx(TRAIN_IMAGES, TRAIN_LABELS).expect("embedded training subset parses");
    let test = parse_idx(TEST_IMAGES, TEST_LABELS).expect("embedded test subset parses");
    (train, test)
}

/// How clips are drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct ClipSpec {
    /// Side of the square canvas (64: frames of 4,096 = 8 x 8 x 8 x 8 values).
    pub canvas: usize,
    /// Frames per clip.
    pub frames: usize,
    /// Largest speed in pixels per frame along each axis.
    pub max_speed: i64,
}

impl Default for ClipSpec {
    fn default() -> Self {
        Self {
            canvas: 64,
            frames: 6,
            max_speed: 6,
        }
    }
}

/// Clips stored as `[clip][frame][value]` bytes (a value is `byte / 255`).
#[derive(Clone, Debug)]
pub struct Clips {
    pub frames: usize,
    /// Values per frame.
    pub frame_size: usize,
    pub data: Vec<u8>,
    pub labels: Vec<i64>,
    /// Number of classes.
    pub classes: usize,
}

impl Clips {
    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    /// Values per clip.
    pub fn clip_size(&self) -> usize {
        self.frame_size * self.frames
    }
    /// Clip `i` as floats in [0, 1].
    pub fn clip_f32(&self, i: usize, out: &mut Vec<f32>) {
        let n = self.clip_size();
        out.extend(
            self.data[i * n..(i + 1) * n]
                .iter()
                .map(|&v| v as f32 / 255.0),
        );
    }
}

/// One clip per image among the first `count`, drawn from `rng`.
pub fn make_clips(
    images: &Images,
    count: usize,
    spec: &ClipSpec,
    rng: &Stream,
) -> Result<Clips, String> {
    if count > images.len() {
        return Err(format!(
            "asked for {count} clips but only {} images are available",
            images.len()
        ));
    }
    let (h, w, c) = (images.rows, images.cols, spec.canvas);
    if c < h.max(w) || spec.frames == 0 {
        return Err(format!(
            "the canvas ({c}) must hold a {h} x {w} item and clips need at least one frame"
        ));
    }
    let frame = c * c;
    let mut data = vec![0u8; count * spec.frames * frame];
    let mut labels = Vec::with_capacity(count);
    for i in 0..count {
        // Each clip's motion comes from its own child stream: clip i does not
        // depend on how many clips are drawn.
        let mut r = rng.child_n("clip", i as u64);
        let (span_y, span_x) = ((c - h) as i64, (c - w) as i64);
        let mut y = r.below(span_y as usize + 1) as i64;
        let mut x = r.below(span_x as usize + 1) as i64;
        let speed =
            |r: &mut Stream| r.below(2 * spec.max_speed as usize + 1) as i64 - spec.max_speed;
        let mut vy = speed(&mut r);
        let mut vx = speed(&mut r);
        let img = images.image(i);
        for t in 0..spec.frames {
            let base = (i * spec.frames + t) * frame;
            for yy in 0..h {
                for xx in 0..w {
                    let at = base + (y as usize + yy) * c + x as usize + xx;
                    data[at] = data[at].max(img[yy * w + xx]);
                }
            }
            // Move, bouncing off the borders.
            let bounce = |p: &mut i64, v: &mut i64, span: i64| {
                *p += *v;
                if *p < 0 {
                    *p = -*p;
                    *v = -*v;
                }
                if *p > span {
                    *p = 2 * span - *p;
                    *v = -*v;
                }
                *p = (*p).clamp(0, span);
            };
            bounce(&mut y, &mut vy, span_y);
            bounce(&mut x, &mut vx, span_x);
        }
        labels.push(images.labels[i] as i64);
    }
    Ok(Clips {
        frames: spec.frames,
        frame_size: frame,
        data,
        labels,
        classes: CLASSES.len(),
    })
}

/// UCF11 clips prepared by the user: `<dir>/<class>/<name>.u8`, each file
/// `frames x 120 x 160 x 3` raw bytes (frames sampled evenly from a video
/// and resized to 160 x 120 RGB, as the authors' `dataset/UCF11.py` does).
/// Classes are the sub-folders in sorted order; a seeded `test_fraction`
/// of the clips is the test set (the authors hold out 20 %).
pub fn load_ucf11(
    dir: &std::path::Path,
    frames: usize,
    test_fraction: f64,
    rng: &Stream,
) -> Result<(Clips, Clips), String> {
    const FRAME: usize = 160 * 120 * 3;
    let missing = || {
        format!(
            "UCF11 data not found in {}: UCF11 (YouTube action videos, 11 classes) cannot be downloaded here. Extract {frames} frames per video, resized to 160 x 120 RGB, into <dir>/<class>/<clip>.u8 files of {} raw bytes each, and point `ucf11_dir` (or UCF11_DIR) at <dir>",
            dir.display(),
            frames * FRAME
        )
    };
    let mut classes: Vec<_> = std::fs::read_dir(dir)
        .map_err(|_| missing())?
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.path())
        .collect();
    classes.sort();
    let mut items = vec![];
    for (ci, c) in classes.iter().enumerate() {
        let mut files: Vec<_> = std::fs::read_dir(c)
            .map_err(|e| format!("{}: {e}", c.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "u8"))
            .collect();
        files.sort();
        items.extend(files.into_iter().map(|f| (f, ci as i64)));
    }
    if items.is_empty() {
        return Err(missing());
    }
    let mut r = rng.child("split");
    for i in (1..items.len()).rev() {
        items.swap(i, r.below(i + 1));
    }
    let n_test = ((items.len() as f64) * test_fraction).round() as usize;
    let load = |part: &[(std::path::PathBuf, i64)]| -> Result<Clips, String> {
        let mut data = Vec::with_capacity(part.len() * frames * FRAME);
        let mut labels = vec![];
        for (f, l) in part {
            let b = std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()))?;
            if b.len() != frames * FRAME {
                return Err(format!(
                    "{}: {} bytes, expected {frames} x 120 x 160 x 3 = {}",
                    f.display(),
                    b.len(),
                    frames * FRAME
                ));
            }
            data.extend(b);
            labels.push(*l);
        }
        Ok(Clips {
            frames,
            frame_size: FRAME,
            data,
            labels,
            classes: classes.len(),
        })
    };
    let test = load(&items[..n_test])?;
    let train = load(&items[n_test..])?;
    Ok((train, test))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subset_parses_and_clips_hold_the_item() {
        let (train, test) = fashion_mnist_subset();
        assert_eq!((train.len(), test.len()), (5000, 1000));
        assert_eq!((train.rows, train.cols), (28, 28));
        assert!(train.labels.iter().all(|&l| l < 10));
        let spec = ClipSpec::default();
        let clips = make_clips(&test, 20, &spec, &Stream::root("t")).unwrap();
        assert_eq!(clips.clip_size(), 6 * 4096);
        for i in 0..20 {
            // Every frame holds the whole item: the same total intensity.
            let img_sum: u64 = test.image(i).iter().map(|&v| v as u64).sum();
            for t in 0..6 {
                let f = &clips.data[(i * 6 + t) * 4096..(i * 6 + t + 1) * 4096];
                let s: u64 = f.iter().map(|&v| v as u64).sum();
                assert_eq!(s, img_sum, "clip {i} frame {t}");
            }
        }
        // Deterministic and independent of the count.
        let again = make_clips(&test, 5, &spec, &Stream::root("t")).unwrap();
        assert_eq!(&again.data[..], &clips.data[..5 * 6 * 4096]);
        assert!(make_clips(&test, 5000, &spec, &Stream::root("t")).is_err());
    }

    #[test]
    fn missing_ucf11_names_the_folder_and_the_format() {
        let e = load_ucf11(
            std::path::Path::new("/nonexistent/ucf11"),
            6,
            0.2,
            &Stream::root("u"),
        )
        .unwrap_err();
        assert!(
            e.contains("/nonexistent/ucf11") && e.contains("160 x 120"),
            "{e}"
        );
    }
}
