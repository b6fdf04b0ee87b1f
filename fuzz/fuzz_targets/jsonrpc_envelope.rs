//! The `/mcp` guard reads each body once as an `Envelope` and checks the call's scope from it. Whenever
//! that read succeeds, a plain JSON read of the same bytes must name the same method and params, so the
//! scope checked is the scope of the call that runs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use statusgate::mcp::direct::Envelope;

fuzz_target!(|data: &[u8]| {
    let Ok(envelope) = serde_json::from_slice::<Envelope<'_>>(data) else {
        return;
    };
    // A number too large for a `Value` in a field the envelope skips: rmcp refuses such a body itself.
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    assert!(value.is_object(), "an Envelope is an object");
    assert_eq!(envelope.method(), value["method"].as_str());
    let params = value.get("params").cloned().unwrap_or(Value::Null);
    assert_eq!(envelope.params, params);
});
