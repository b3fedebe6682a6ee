//! The API's OpenAPI 3 document (`GET /v1/openapi.json`), embedded at build time. The test
//! below holds it to the route table: every route is in the document with the same method,
//! access and body type, and the document names no route the table lacks, so the two cannot
//! drift apart.

use actix_web::http::header;
use actix_web::HttpResponse;

/// The document, as served.
pub const DOCUMENT: &str = include_str!("openapi.json");

/// `GET /v1/openapi.json`.
pub async fn document() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/json"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(DOCUMENT)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::DOCUMENT;
    use crate::http::routes::{endpoints, Access, Body};

    fn access_name(a: Access) -> String {
        match a {
            Access::Public => "public".into(),
            Access::InBandLogin => "in-band-login".into(),
            Access::Authenticated => "authenticated".into(),
            Access::Role(r) => r.as_str().into(),
        }
    }

    #[test]
    fn the_document_and_the_route_table_agree() {
        let doc: Value = serde_json::from_str(DOCUMENT).expect("the document is JSON");
        assert_eq!(doc["openapi"].as_str().map(|v| &v[..2]), Some("3."));
        let mut in_table = BTreeSet::new();
        for e in endpoints() {
            let method = e.method.as_str().to_ascii_lowercase();
            in_table.insert((e.path.to_owned(), method.clone()));
            let op = &doc["paths"][e.path][&method];
            assert!(op.is_object(), "{e:?} is not in openapi.json");
            assert_eq!(
                op["x-outdial-access"].as_str(),
                Some(access_name(e.access).as_str()),
                "{e:?}: the document says another access"
            );
            let open = matches!(e.access, Access::Public | Access::InBandLogin);
            let security = op["security"].as_array().map_or(0, Vec::len);
            assert_eq!(security == 0, open, "{e:?}: security schemes");
            let body = op["requestBody"]["content"]
                .as_object()
                .map(|c| c.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default();
            let want: &[&str] = match e.body {
                Body::None => &[],
                Body::Json => &["application/json"],
                Body::Csv => &["text/csv"],
            };
            assert_eq!(body, want, "{e:?}: request body");
            for seg in e.path.split('/').filter(|s| s.starts_with('{')) {
                let name = seg.trim_matches(|c| c == '{' || c == '}');
                let declared = op["parameters"].as_array().is_some_and(|ps| {
                    ps.iter()
                        .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true)
                });
                assert!(declared, "{e:?}: path parameter {name} is not declared");
            }
        }
        let in_doc: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .expect("paths")
            .iter()
            .flat_map(|(p, ops)| {
                ops.as_object()
                    .into_iter()
                    .flat_map(|o| o.keys())
                    .map(move |m| (p.clone(), m.clone()))
            })
            .collect();
        let extra: Vec<_> = in_doc.difference(&in_table).collect();
        assert!(
            extra.is_empty(),
            "in openapi.json, not in the route table: {extra:?}"
        );
    }
}
