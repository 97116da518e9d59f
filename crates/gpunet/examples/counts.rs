//! Print the closed-form counts of the seven published models.
fn main() {
    for p in gpunet::ALL {
        let s = p.spec().expect("published JSON");
        let c = s.counts();
        println!(
            "{:10} {:14} res {:3}  params {:>10}  MACs {:>13}",
            p.name, p.file, s.resolution, c.params, c.macs
        );
    }
}
