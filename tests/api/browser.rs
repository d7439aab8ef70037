//! A browser for the admin-center tests: cookies kept, redirects not followed, the last page's
//! CSRF token at hand.

use std::collections::HashMap;

use reqwest::StatusCode;

use crate::helpers::TestApp;

/// A browser: cookies kept, redirects not followed, the last page's CSRF token at hand.
pub struct Browser {
    pub base: String,
    pub client: reqwest::Client,
    pub cookies: HashMap<String, String>,
    pub csrf: String,
}

/// A page as the browser got it.
pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser::at(&app.base)
    }

    /// A browser of the server at `base`, such as a second process on the app's database.
    pub fn at(base: &str) -> Browser {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        Browser { base: base.to_owned(), client, cookies: HashMap::new(), csrf: String::new() }
    }

    pub async fn read(&mut self, res: reqwest::Response) -> Page {
        let status = res.status();
        let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
        let set_cookies: Vec<String> =
            res.headers().get_all("set-cookie").iter().map(|c| c.to_str().unwrap().to_owned()).collect();
        for c in &set_cookies {
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = res.text().await.unwrap();
        if let Some(at) = body.find("name=\"csrf\" value=\"") {
            let rest = &body[at + 19..];
            self.csrf = rest[..rest.find('"').unwrap()].to_owned();
        }
        Page { status, location, set_cookies, body }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.read(res).await
    }

    /// Posts `fields`, with the CSRF token of the last page unless they carry their own.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut form: Vec<(String, String)> = fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if !fields.iter().any(|(k, _)| *k == "csrf") {
            form.push(("csrf".into(), self.csrf.clone()));
        }
        self.post_raw(path, &form).await
    }

    pub async fn post_raw(&mut self, path: &str, form: &[(String, String)]) -> Page {
        let body: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        self.read(res).await
    }

    /// Posts a `multipart/form-data` form: text fields, then the file as `file`, as a browser
    /// sends the import form (its CSRF field first).
    pub async fn post_file(&mut self, path: &str, fields: &[(&str, &str)], file: (&str, &[u8])) -> Page {
        let boundary = "scimd-test-boundary-7f3a";
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
            );
        }
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{}\"\r\nContent-Type: text/csv\r\n\r\n", file.0).as_bytes());
        body.extend_from_slice(file.1);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", format!("multipart/form-data; boundary={boundary}"))
            .body(body)
            .send()
            .await
            .unwrap();
        self.read(res).await
    }

    /// Posts `fields` and follows the redirect it answers with (Post/Redirect/Get), as a browser
    /// does; a page that is not a redirect comes back as it is.
    pub async fn post_and_follow(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.post(path, fields).await;
        match (page.status, page.location.clone()) {
            (StatusCode::SEE_OTHER, Some(to)) => self.get(&to).await,
            _ => page,
        }
    }

    /// The import's results page, once the import is done.
    pub async fn import_results(&mut self) -> Page {
        for _ in 0..200 {
            let page = self.get("/admin/import/results").await;
            if !page.body.contains("http-equiv=\"refresh\"") {
                return page;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the import did not finish");
    }

    pub async fn sign_in(&mut self, token: &str) -> Page {
        self.get("/admin/sign-in").await;
        self.post("/admin/sign-in", &[("token", token)]).await
    }

    /// Signed in with the app's admin token.
    pub async fn signed_in(app: &TestApp) -> Browser {
        let mut b = Browser::new(app);
        let page = b.sign_in(&app.token).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        b
    }
}
