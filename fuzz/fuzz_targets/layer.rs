//! The layer reader on arbitrary blobs (plain, gzip or zstd, told by the magic number): every
//! outcome is a layer or an error, never a panic, and what it keeps stays bounded.
#![no_main]

use imgopt::image::layer::{read_layer, LayerOrigin, Verify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let origin = LayerOrigin { index: 0, location: "fuzz" };
    for verify in [Verify { blob: false, diff_id: false }, Verify { blob: true, diff_id: true }] {
        let blob = Box::new(std::io::Cursor::new(data.to_vec()));
        if let Ok(contents) = read_layer(blob, &origin, verify, data.len() as u64) {
            assert!(contents.blob_bytes <= data.len() as u64 || contents.compression == imgopt::image::Compression::None);
        }
    }
});
