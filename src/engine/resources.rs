//! Volumes and networks `dropcap profile` makes for a definition's trials: a fresh volume in
//! place of each named volume, a private network for `depends_on` services. Each is labelled
//! with the profile's session so a leftover can be found, and removed when the profile ends.

use super::api::{query_escape, Api, ApiError};
use super::lifecycle::accepted;
use serde_json::json;

impl Api {
    pub async fn volume_create(&self, name: &str, label: (&str, &str)) -> Result<(), ApiError> {
        let body = json!({"Name": name, "Labels": {label.0: label.1}});
        let a = self.send("POST", "/volumes/create", Some(&body)).await?;
        accepted(&a).map(|_| ())
    }

    /// A volume that is already gone is not an error.
    pub async fn volume_remove(&self, name: &str) -> Result<(), ApiError> {
        let a = self
            .send(
                "DELETE",
                &format!("/volumes/{}?force=true", query_escape(name)),
                None,
            )
            .await?;
        if a.status == 404 {
            return Ok(());
        }
        accepted(&a).map(|_| ())
    }

    /// An internal bridge network: its containers reach each other and nothing else.
    pub async fn network_create(&self, name: &str, label: (&str, &str)) -> Result<(), ApiError> {
        let body = json!({
            "Name": name,
            "CheckDuplicate": true,
            "Internal": true,
            "Labels": {label.0: label.1},
        });
        let a = self.send("POST", "/networks/create", Some(&body)).await?;
        accepted(&a).map(|_| ())
    }

    pub async fn network_remove(&self, name: &str) -> Result<(), ApiError> {
        let a = self
            .send("DELETE", &format!("/networks/{}", query_escape(name)), None)
            .await?;
        if a.status == 404 {
            return Ok(());
        }
        accepted(&a).map(|_| ())
    }
}
