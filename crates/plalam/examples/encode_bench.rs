//! Times the latent encoder and one LaP3 split on MazeS3-sized rollouts:
//! `cargo run --release -p plalam --example encode_bench -- 500`.
use plalam::{Encoder, FrameShape, Lap3Labeller};
use searchkit::partition::{Labeller, Samples};
use searchkit::rng::Stream;
use std::time::Instant;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let s = FrameShape::MAZE_S3;
    let mut rng = Stream::root("bench");
    let batch: Vec<Vec<u8>> = (0..n)
        .map(|_| {
            (0..s.bytes())
                .map(|_| (rng.uniform() * 255.0) as u8)
                .collect()
        })
        .collect();
    let refs: Vec<&[u8]> = batch.iter().map(|b| b.as_slice()).collect();
    let enc = Encoder::random(s, &mut Stream::root("enc"));
    let t = Instant::now();
    let z = enc.encode_batch(&refs);
    let te = t.elapsed().as_secs_f64();
    println!(
        "encode {n}: {te:.3} s ({:.2} ms per rollout)",
        1e3 * te / n as f64
    );
    let mut d = Samples::new();
    for (i, v) in z.into_iter().enumerate() {
        d.push(v, vec![-(i as f64 % 17.0)]);
    }
    let idx: Vec<usize> = (0..n).collect();
    let t = Instant::now();
    let (labels, b) = Lap3Labeller::default().label_fitted(0, &d, &idx, &mut rng);
    println!(
        "root split of {n} latents: {:.3} s, good {}, boundary {}",
        t.elapsed().as_secs_f64(),
        labels.iter().filter(|&&l| l).count(),
        b.is_some()
    );
}
