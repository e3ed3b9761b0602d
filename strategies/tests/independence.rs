//! The crate's architecture invariant, checked as a test: it depends on no other Fulcrum crate, so
//! a production scheduler can link it as it is.

#[test]
fn strategies_depend_on_no_workspace_crate() {
    let manifest = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let mut section = "";
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
            continue;
        }
        if section.contains("dependencies") {
            let name = line.split(['=', '.', ' ']).next().unwrap_or("");
            assert!(!name.starts_with("fulcrum"), "{section} lists {name}: strategies must stand alone");
        }
    }
}
