"""Pure helpers on a procedure's form schema (no Django imports: scripts use them too)."""


def example_form_data(schema: dict) -> dict:
    """Form data valid against a form_schema, required fields only: what a client, a test or
    a benchmark sends when it only needs an acceptable submission."""
    out = {}
    for name in schema.get("required", []):
        prop = schema["properties"][name]
        if "enum" in prop:
            out[name] = prop["enum"][0]
        elif prop.get("type") == "integer":
            out[name] = 1
        elif prop.get("type") == "boolean":
            out[name] = True
        elif prop.get("format") == "date":
            out[name] = "2026-11-01"
        elif prop.get("format") == "email":
            out[name] = "nguoi.nop@example.vn"
        elif "pattern" in prop:
            out[name] = "0912345678"
        else:
            out[name] = "Nguyễn Minh Khôi"[: prop.get("maxLength", 50)]
    return out
