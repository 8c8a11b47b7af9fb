//! An overlay upper directory as a layer tar (see the module docs of `crate::build`).
