//! Links the binary against libtorch with an rpath to `$LIBTORCH/lib`, so it
//! runs without LD_LIBRARY_PATH; with SPACEPART_TORCH_CUDA=1 it also keeps
//! libtorch's CUDA library (dropped by `--as-needed` otherwise).
fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=SPACEPART_TORCH_CUDA");
    if let Ok(root) = std::env::var("LIBTORCH") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{root}/lib");
        if std::env::var("SPACEPART_TORCH_CUDA").as_deref() == Ok("1") {
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
        }
    }
}
