//! Image JSON documents (config, manifest, index) on arbitrary bytes: the shape check runs
//! first, as when an image is opened, and parsing after it must never panic.
#![no_main]

use imgopt::image::{check_json_shape, ImageConfig, Index, Manifest};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if check_json_shape("fuzz", data).is_err() {
        return;
    }
    let _ = serde_json::from_slice::<ImageConfig>(data);
    let _ = serde_json::from_slice::<Manifest>(data);
    let _ = serde_json::from_slice::<Index>(data);
});
