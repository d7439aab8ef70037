//! Any input either fails to parse with a SCIM error or parses to a filter whose canonical
//! text parses back to the same filter; the parser never panics or overflows its stack.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scimd::scim::filter::parse_filter;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(filter) = parse_filter(text) {
        let again = parse_filter(&filter.to_string()).expect("the canonical form parses");
        assert_eq!(again, filter, "round trip of {text:?}");
    }
});
