//! Fate-level tests of the behaviour module (filled in below).
