//! The socket survives bad clients: garbage, a huge frame, a disconnect mid-request, a wrong
//! protocol version; and two clients are served at once.

mod common;
use common::TestHome;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

fn connect(t: &TestHome) -> UnixStream {
    t.ok(&["ping"]);
    let s = UnixStream::connect(t.home().join("pmtui.sock")).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(body);
    out
}

fn read_frame(s: &mut UnixStream) -> Option<serde_json::Value> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).ok()?;
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

fn hello(s: &mut UnixStream) {
    s.write_all(&frame(br#"{"hello":{"protocol":2,"client":"test"}}"#))
        .expect("write");
    let reply = read_frame(s).expect("hello reply");
    assert_eq!(reply["hello"]["protocol"], 2, "{reply}");
}

#[test]
fn garbage_gets_an_error_and_the_daemon_keeps_serving() {
    let t = TestHome::new();
    // Garbage instead of a hello.
    let mut s = connect(&t);
    s.write_all(&frame(b"\xff\xfe not json")).expect("write");
    let reply = read_frame(&mut s).expect("an error reply");
    assert_eq!(reply["reply"]["response"]["kind"], "protocol", "{reply}");
    // Garbage after the hello.
    let mut s = connect(&t);
    hello(&mut s);
    s.write_all(&frame(
        br#"{"request":{"id":1,"request":{"cmd":"explode"}}}"#,
    ))
    .expect("write");
    let reply = read_frame(&mut s).expect("an error reply");
    assert_eq!(reply["reply"]["response"]["type"], "error", "{reply}");
    // A frame announcing 1 GiB is refused without being read.
    let mut s = connect(&t);
    hello(&mut s);
    s.write_all(&(1u32 << 30).to_be_bytes()).expect("write");
    let _ = read_frame(&mut s);
    // Raw bytes that are not even a frame, then a disconnect mid-request.
    let mut s = connect(&t);
    s.write_all(b"GET / HTTP/1.1\r\n\r\n").expect("write");
    drop(s);
    let mut s = connect(&t);
    hello(&mut s);
    s.write_all(&(100u32).to_be_bytes()).expect("write");
    s.write_all(b"{\"request\":").expect("write");
    drop(s);
    // A wrong protocol version is told what to do.
    let mut s = connect(&t);
    s.write_all(&frame(br#"{"hello":{"protocol":99,"client":"future"}}"#))
        .expect("write");
    let reply = read_frame(&mut s).expect("reply");
    assert!(
        reply["reply"]["response"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("version")),
        "{reply}"
    );

    // Still serving.
    t.ok(&["start", "sleep 300", "--name", "after-garbage"]);
    t.wait_status("after-garbage", "online");
}

#[test]
fn two_clients_at_once() {
    let t = TestHome::new();
    let mut a = connect(&t);
    let mut b = connect(&t);
    hello(&mut a);
    hello(&mut b);
    // a subscribes to events; b starts a process; a sees it.
    a.write_all(&frame(
        br#"{"request":{"id":1,"request":{"cmd":"subscribe"}}}"#,
    ))
    .expect("write");
    let snap = read_frame(&mut a).expect("snapshot");
    assert_eq!(snap["reply"]["response"]["type"], "subscribed", "{snap}");
    let start = t
        .cmd()
        .args(["start", "sleep 300", "--name", "seen"])
        .output()
        .expect("start");
    assert!(start.status.success());
    b.write_all(&frame(br#"{"request":{"id":7,"request":{"cmd":"list"}}}"#))
        .expect("write");
    let listed = read_frame(&mut b).expect("list reply");
    assert_eq!(listed["reply"]["id"], 7);
    let mut saw = false;
    for _ in 0..20 {
        let Some(event) = read_frame(&mut a) else {
            break;
        };
        if event["event"]["process"]["name"] == "seen"
            && event["event"]["process"]["status"] == "online"
        {
            saw = true;
            break;
        }
    }
    assert!(saw, "the subscriber saw the new process come online");
}
