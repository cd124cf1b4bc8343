//! The error a table's validation returns: which field, and what is wrong with it.
//!
//! Each table file (`load.rs`, `capacity.rs`, `target.rs`) knows its fields but not the file
//! or the table it was read from; `Scenario::parse` adds both (and `override_load` names the
//! flag instead), so every message names the file and the field.

/// (field, message): the field as the table spells it, such as `duration` or `headers.X-Key`.
pub(super) type FieldError = (String, String);

pub(super) fn field_error(field: &str, message: impl Into<String>) -> FieldError {
    (field.to_string(), message.into())
}
