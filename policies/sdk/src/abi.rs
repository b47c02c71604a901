//! The guest side of ABI v1: memory handed to the host, and the evaluation entry point. Used by the
//! code [`crate::policy!`] generates; not meant to be called directly.

use crate::{Outcome, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::borrow::Cow;

/// The request with its input left unparsed, so the input is parsed once, into the hook's type.
#[derive(Deserialize)]
struct RawRequest<'a> {
    #[serde(borrow)]
    hook: Cow<'a, str>,
    #[serde(borrow)]
    input: &'a RawValue,
}

/// Allocates `len` bytes the host writes the request into; 0 on failure.
pub fn alloc(len: i32) -> i32 {
    if len <= 0 {
        return 0;
    }
    let mut buffer = Vec::<u8>::with_capacity(len as usize);
    let ptr = buffer.as_mut_ptr();
    std::mem::forget(buffer);
    ptr as usize as i32
}

/// Frees a buffer from [`alloc`] or an output of [`evaluate`].
///
/// # Safety
/// `ptr` and `len` must be exactly what `alloc` or `evaluate` handed out, freed once.
pub unsafe fn free(ptr: i32, len: i32) {
    if ptr != 0 && len > 0 {
        drop(unsafe { Vec::from_raw_parts(ptr as usize as *mut u8, 0, len as usize) });
    }
}

/// Parses the request, calls `dispatch`, and leaves the JSON response in a buffer whose pointer
/// and length are packed into the result (`ptr << 32 | len`).
///
/// # Safety
/// `ptr`/`len` must describe a readable buffer (one from [`alloc`]).
pub unsafe fn evaluate(ptr: i32, len: i32, dispatch: impl Fn(&str, &str) -> Response) -> i64 {
    let bytes = unsafe { std::slice::from_raw_parts(ptr as usize as *const u8, len.max(0) as usize) };
    let response = dispatch_json(bytes, dispatch);
    let out = serde_json::to_vec(&response)
        .unwrap_or_else(|_| b"{\"allowed\":false}".to_vec())
        .into_boxed_slice();
    let out_len = out.len();
    let out_ptr = Box::into_raw(out) as *mut u8 as usize;
    ((out_ptr as i64) << 32) | (out_len as i64 & 0xFFFF_FFFF)
}

/// Parses a request and hands the hook's raw input to `dispatch`.
pub fn dispatch_json(request: &[u8], dispatch: impl Fn(&str, &str) -> Response) -> Response {
    match serde_json::from_slice::<RawRequest>(request) {
        Ok(request) => dispatch(&request.hook, request.input.get()),
        Err(e) => Response {
            allowed: false,
            reasons: vec![format!("invalid request: {e}")],
            ..Response::default()
        },
    }
}

/// Deserialises a hook input, calls the policy function, and wraps its outcome.
pub fn run<I: DeserializeOwned, O: Serialize>(input: &str, handler: impl Fn(I) -> Outcome<O>) -> Response {
    match serde_json::from_str::<I>(input) {
        Ok(input) => handler(input).into_response(),
        Err(e) => Response {
            allowed: false,
            reasons: vec![format!("invalid hook input: {e}")],
            ..Response::default()
        },
    }
}

/// Length of `s` once every `,]` is turned into `]` (the macro's hook list ends with a comma).
pub const fn without_trailing_comma_len(s: &str) -> usize {
    let b = s.as_bytes();
    let mut n = b.len();
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] == b',' && b[i + 1] == b']' {
            n -= 1;
        }
        i += 1;
    }
    n
}

/// `s` with every `,]` turned into `]`, as a fixed-size array for the metadata section.
pub const fn without_trailing_comma<const N: usize>(s: &str) -> [u8; N] {
    let b = s.as_bytes();
    let mut out = [0u8; N];
    let (mut i, mut j) = (0, 0);
    while i < b.len() {
        if !(b[i] == b',' && i + 1 < b.len() && b[i + 1] == b']') {
            out[j] = b[i];
            j += 1;
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_commas_are_removed_at_compile_time() {
        const RAW: &str = "{\"hooks\":[\"a\",\"b\",]}";
        const LEN: usize = without_trailing_comma_len(RAW);
        const FIXED: [u8; LEN] = without_trailing_comma::<LEN>(RAW);
        assert_eq!(std::str::from_utf8(&FIXED).unwrap(), "{\"hooks\":[\"a\",\"b\"]}");
    }
}
