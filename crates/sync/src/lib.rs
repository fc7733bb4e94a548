//! patrol-sync
