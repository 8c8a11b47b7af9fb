//! imgopt's own image builder: overlayfs snapshots, `RUN` steps in namespaces, layers read
//! straight from the overlay upper directory, OCI images out.
//!
//! The parts, in the order a step goes through them:
//! - [`store`]: the local store in the user's cache directory — an OCI image layout (blobs,
//!   `index.json` with named images) plus unpacked snapshots, the step cache and a lock.
//! - [`extract`]: a layer blob unpacked once into a content-addressed snapshot directory,
//!   safely (no entry lands outside it), whiteouts and opaque directories in overlay's form.
//! - [`sandbox`]: one step in private mount, PID, IPC and UTS namespaces (and a user
//!   namespace when not root): overlay mounted over the snapshot chain, `/proc`, a minimal
//!   `/dev`, `pivot_root`, then the command. Mounts live only in that namespace, so they
//!   vanish with it whatever happens to imgopt.
//! - [`diff`]: the upper directory turned into a deterministic layer tar (overlay whiteouts
//!   become `.wh.` entries), hashed (diff_id) and compressed (blob digest) in one pass.
//! - [`executor`]: the Dockerfile's stages folded into steps, cache keys, history, config.

pub mod config;
pub mod copy;
pub mod diff;
pub mod executor;
pub mod extract;
pub mod sandbox;
pub mod store;
pub mod view;
