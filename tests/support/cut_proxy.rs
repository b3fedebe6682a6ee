//! A TCP forwarder on loopback whose connections a test can cut at once: a browser reaches
//! the node through it, and [`CutProxy::cut`] is a network drop as the page sees it (its
//! WebSocket closes) while the node keeps running. New connections are forwarded as before.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

pub struct CutProxy {
    pub addr: SocketAddr,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}

impl CutProxy {
    /// Forwards 127.0.0.1:PORT (a free one) to `target`.
    pub fn start(target: SocketAddr) -> CutProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let open = Arc::new(Mutex::new(Vec::new()));
        let list = Arc::clone(&open);
        thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                let Ok(server) = TcpStream::connect(target) else {
                    continue;
                };
                let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                if let (Ok(mut l), Ok(c3)) = (list.lock(), client.try_clone()) {
                    l.push(c3);
                }
                thread::spawn(move || pump(client, s2));
                thread::spawn(move || pump(server, c2));
            }
        });
        CutProxy { addr, open }
    }

    /// Closes every connection open now, both ways.
    pub fn cut(&self) -> usize {
        let mut l = self.open.lock().expect("the proxy's list");
        let n = l.len();
        for s in l.drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
        n
    }
}
