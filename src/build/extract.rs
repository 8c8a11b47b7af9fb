//! Unpacking a layer into a snapshot directory (see the module docs of `crate::build`).
