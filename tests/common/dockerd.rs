//! A second (third...) real dockerd for tests that audit several engines: its own socket, data
//! root, exec root and pid file, no bridge and no iptables rules (so it never touches the main
//! engine's networking), sharing the machine's containerd under its own namespaces. Optionally
//! it also listens on `tcp://127.0.0.1:PORT` with TLS certificates made here with `openssl`.
//! Dropping the guard stops the daemon and removes everything it made.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made with `openssl`.
pub struct Certs {
    pub dir: PathBuf,
}

impl Certs {
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    pub fn cert(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }
    pub fn key(&self) -> PathBuf {
        self.dir.join("key.pem")
    }

    /// `dir` gets `ca.pem`, `cert.pem`, `key.pem` (the client's, named as `DOCKER_CERT_PATH`
    /// wants them) and `server-cert.pem`, `server-key.pem`.
    pub fn make(dir: &Path) -> Certs {
        std::fs::create_dir_all(dir).expect("cert dir");
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .expect("openssl is installed by scripts/test.sh");
            assert!(
                out.status.success(),
                "openssl {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        )
        .expect("write");
        std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n").expect("write");
        #[rustfmt::skip]
        let steps: [&[&str]; 5] = [
            &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/CN=dropcap-test-ca"],
            &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server-key.pem", "-out", "server.csr", "-subj", "/CN=127.0.0.1"],
            &["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-out", "server-cert.pem", "-days", "2", "-extfile", "server.ext"],
            &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "key.pem", "-out", "client.csr", "-subj", "/CN=dropcap-test-client"],
            &["x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-out", "cert.pem", "-days", "2", "-extfile", "client.ext"],
        ];
        for s in steps {
            run(s);
        }
        Certs {
            dir: dir.to_path_buf(),
        }
    }
}

pub struct Dockerd {
    child: Child,
    /// Short, under /tmp: a unix socket path must fit in 108 bytes.
    pub dir: PathBuf,
    /// `unix:///…/d.sock`
    pub sock: String,
    /// `tcp://127.0.0.1:PORT` with TLS, when asked for.
    pub tcp: Option<String>,
    pub certs: Option<Certs>,
    namespace: String,
    bridge: String,
}

/// A bridge device with a private /24 (10.231.X.0), named for the test and this process.
fn make_bridge(tag: &str) -> String {
    let pid = std::process::id();
    let name: String = format!("dc{}{}", &tag[..tag.len().min(3)], pid % 100_000);
    let third = (pid % 200) + u32::from(tag.len() as u8 % 50);
    let ip = |args: &[&str]| {
        let out = Command::new("ip").args(args).output().expect("ip");
        assert!(
            out.status.success(),
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let _ = Command::new("ip").args(["link", "del", &name]).output();
    ip(&["link", "add", &name, "type", "bridge"]);
    ip(&["addr", "add", &format!("10.231.{third}.1/24"), "dev", &name]);
    ip(&["link", "set", &name, "up"]);
    name
}

impl Dockerd {
    /// Starts a dockerd and waits until it answers; `tls` also makes it listen on a loopback
    /// port with `--tlsverify`.
    pub fn start(tag: &str, tls: bool) -> Dockerd {
        let dir = PathBuf::from(format!("/tmp/dc15e-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dockerd dir");
        // The machine's /etc/docker/daemon.json, if any, belongs to the main engine.
        std::fs::write(dir.join("daemon.json"), "{}").expect("daemon.json");
        let sock = format!("unix://{}/d.sock", dir.display());
        let namespace = format!("dc15e-{tag}-{}", std::process::id());
        let bridge = make_bridge(tag);
        let mut args: Vec<String> = vec![
            "--config-file".into(),
            dir.join("daemon.json").display().to_string(),
            "-H".into(),
            sock.clone(),
            "--data-root".into(),
            dir.join("data").display().to_string(),
            "--exec-root".into(),
            dir.join("exec").display().to_string(),
            "--pidfile".into(),
            dir.join("d.pid").display().to_string(),
            // Not `--bridge none`: that makes dockerd delete the host's docker0, the main
            // engine's bridge. A bridge of its own, made here and removed on drop.
            "--bridge".into(),
            bridge.clone(),
            "--iptables=false".into(),
            "--ip-masq=false".into(),
            "--containerd".into(),
            "/run/containerd/containerd.sock".into(),
            "--containerd-namespace".into(),
            namespace.clone(),
            "--containerd-plugins-namespace".into(),
            format!("{namespace}-plugins"),
        ];
        let (mut tcp, mut certs) = (None, None);
        if tls {
            let c = Certs::make(&dir.join("certs"));
            let port = free_port();
            let addr = format!("tcp://127.0.0.1:{port}");
            args.extend([
                "-H".into(),
                addr.clone(),
                "--tlsverify".into(),
                "--tlscacert".into(),
                c.ca().display().to_string(),
                "--tlscert".into(),
                c.dir.join("server-cert.pem").display().to_string(),
                "--tlskey".into(),
                c.dir.join("server-key.pem").display().to_string(),
            ]);
            tcp = Some(addr);
            certs = Some(c);
        }
        let log = std::fs::File::create(dir.join("dockerd.log")).expect("log");
        let child = Command::new("dockerd")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start dockerd");
        let d = Dockerd {
            child,
            dir,
            sock,
            tcp,
            certs,
            namespace,
            bridge,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let up = Command::new("docker")
                .args(["-H", &d.sock, "version", "--format", "{{.Server.Version}}"])
                .output()
                .is_ok_and(|o| o.status.success());
            if up {
                break;
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(d.dir.join("dockerd.log")).unwrap_or_default();
                let tail: Vec<_> = log.lines().rev().take(15).collect();
                panic!("the test dockerd did not start:\n{}", tail.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        d
    }

    /// `docker -H <this engine> ARGS`, panicking with stderr on failure.
    pub fn docker(&self, args: &[&str]) -> std::process::Output {
        let out = Command::new("docker")
            .args(["-H", &self.sock])
            .args(args)
            .output()
            .expect("run docker");
        assert!(
            out.status.success(),
            "docker -H {} {}: {}",
            self.sock,
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Copies an image of the main engine here (no registry on these machines).
    pub fn load_image(&self, image: &str) {
        let tar = self.dir.join("image.tar");
        super::docker(&["save", "-o", &tar.display().to_string(), image]);
        self.docker(&["load", "-q", "-i", &tar.display().to_string()]);
        let _ = std::fs::remove_file(tar);
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // SIGTERM lets dockerd unmount what it mounted; SIGKILL only if it hangs.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
            }
        }
        // Anything still mounted below the directory (overlay layers, the exec root's netns
        // files) would make the removal fail; deepest first.
        let mut mounts: Vec<String> = std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
            .filter(|m| Path::new(m).starts_with(&self.dir))
            .collect();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = Command::new("umount").args(["-l", &m]).output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .output();
        for ns in [
            self.namespace.clone(),
            format!("{}-plugins", self.namespace),
        ] {
            let _ = Command::new("ctr")
                .args([
                    "--address",
                    "/run/containerd/containerd.sock",
                    "namespaces",
                    "rm",
                    &ns,
                ])
                .output();
        }
    }
}
