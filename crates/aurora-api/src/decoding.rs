//! Big replies are read and decoded on a few threads of their own, as many as there are cores.
//!
//! A caller reading a cluster sends dozens of calls at once, each on its own thread, so that
//! their latencies overlap; their answers then arrive together. Decoding is CPU work, so
//! decoding more of them at once than there are cores finishes none sooner, and a decoded
//! reply takes several times the memory of its bytes. Decoded on the calling threads, every
//! answer of a 10,000-job cluster was held decoded at the same moment, and each calling
//! thread's allocator arena kept the high-water mark of what it had decoded. Here the calling
//! thread waits for its answer as it waited for the network; at most one big reply per core
//! is being read, each straight from its connection into the decoded struct (its bytes are
//! never held whole: a 1,000-task page is ~2.7 MB decompressed), and the others wait unread
//! in their connections. Small replies are read and decoded where they arrive.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::error::TransportError;
use crate::transport::{ReplyBody, UnreadBody};
use crate::types::Response;
use crate::wire::{self, WireError};

/// Replies at least this long on the wire (or of unknown length) are read and decoded on the
/// decoding threads. Compressed, 8 KiB is some 100 KiB of reply.
pub(crate) const BIG_REPLY: u64 = 8 * 1024;

/// Why a reply could not be had: its body could not be read, or its bytes are not a reply.
#[derive(Debug)]
pub(crate) enum ReplyError {
    /// Reading the body failed (a timeout, a body over the limit, a dropped connection).
    Transport(TransportError),
    /// The body is not the reply expected.
    Wire(WireError),
}

type Work = Box<dyn FnOnce() + Send>;

/// The decoding threads' queue; `None` if no thread could be started (replies are then
/// decoded where they arrive).
fn queue() -> Option<&'static Sender<Work>> {
    static QUEUE: OnceLock<Option<Sender<Work>>> = OnceLock::new();
    QUEUE
        .get_or_init(|| start(std::thread::available_parallelism().map_or(1, usize::from)))
        .as_ref()
}

/// Starts `threads` threads taking work from one queue, for the life of the process.
fn start(threads: usize) -> Option<Sender<Work>> {
    let (sender, receiver) = mpsc::channel::<Work>();
    let receiver = Arc::new(Mutex::new(receiver));
    let mut started = 0;
    for _ in 0..threads.max(1) {
        let receiver = Arc::clone(&receiver);
        let spawned = std::thread::Builder::new()
            .name("aurora-api-decode".into())
            .spawn(move || serve(&receiver));
        if spawned.is_ok() {
            started += 1;
        }
    }
    (started > 0).then_some(sender)
}

fn serve(receiver: &Mutex<Receiver<Work>>) {
    loop {
        let work = receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv();
        let Ok(work) = work else {
            return;
        };
        // A panic stays with its reply (its caller sees the reply lost), not the thread.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
    }
}

/// The reply in `body` to call `seq` of `method`, read and decoded on a decoding thread when
/// it is big.
pub(crate) fn decode_reply(
    method: &'static str,
    seq: i32,
    body: ReplyBody,
) -> Result<Response, ReplyError> {
    let body = match body {
        ReplyBody::Read(bytes) => {
            return wire::decode_reply(method, seq, &bytes).map_err(ReplyError::Wire);
        }
        ReplyBody::Unread(body) => body,
    };
    let queue = match queue() {
        Some(queue) if body.wire_length().is_none_or(|n| n >= BIG_REPLY) => queue,
        _ => return read_and_decode(method, seq, body),
    };
    let (answer, answered) = mpsc::sync_channel(1);
    let work: Work = Box::new(move || {
        let _ = answer.send(read_and_decode(method, seq, body));
    });
    if queue.send(work).is_err() {
        return Err(ReplyError::Wire(WireError::Protocol(
            "the reply could not be decoded".into(),
        )));
    }
    answered.recv().unwrap_or_else(|_| {
        Err(ReplyError::Wire(WireError::Protocol(
            "decoding the reply failed".into(),
        )))
    })
}

fn read_and_decode(
    method: &'static str,
    seq: i32,
    body: UnreadBody,
) -> Result<Response, ReplyError> {
    body.decode(|input| wire::decode_reply_from(method, seq, input))
        .map_err(ReplyError::Transport)?
        .map_err(ReplyError::Wire)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(seq: i32, tasks: usize) -> Vec<u8> {
        use crate::types::{
            AssignedTask, ResponseCode, Result as ApiResult, ScheduleStatusResult, ScheduledTask,
        };
        let task = ScheduledTask {
            assigned_task: Some(AssignedTask {
                task_id: Some("a-task-id-of-some-length".into()),
                ..AssignedTask::default()
            }),
            ..ScheduledTask::default()
        };
        let response = Response {
            response_code: Some(ResponseCode::OK),
            result: Some(ApiResult::ScheduleStatusResult(ScheduleStatusResult {
                tasks: Some(vec![task; tasks]),
            })),
            ..Response::default()
        };
        wire::encode_reply("getTasksStatus", seq, &response)
    }

    /// `bytes` as a body still on a connection, its length announced.
    fn unread(bytes: Vec<u8>) -> ReplyBody {
        let length = bytes.len() as u64;
        ReplyBody::Unread(UnreadBody::new(
            Box::new(std::io::Cursor::new(bytes)),
            Some(length),
            |e| TransportError::new(crate::error::TransportErrorKind::Io, e.to_string()),
        ))
    }

    /// A connection that delivers `bytes` and then fails.
    struct Broken(std::io::Cursor<Vec<u8>>);

    impl std::io::Read for Broken {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match self.0.read(buf)? {
                0 => Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the connection timed out",
                )),
                n => Ok(n),
            }
        }
    }

    #[test]
    fn big_and_small_replies_decode_the_same_from_many_threads() {
        std::thread::scope(|scope| {
            for seq in 0..16 {
                scope.spawn(move || {
                    // Small (decoded in place) and big (on the decoding threads), read
                    // already or from the connection.
                    for tasks in [1, 10_000] {
                        let bytes = reply(seq, tasks);
                        assert_eq!(bytes.len() as u64 >= BIG_REPLY, tasks > 1);
                        for body in [ReplyBody::Read(bytes.clone()), unread(bytes)] {
                            let response =
                                decode_reply("getTasksStatus", seq, body).expect("decodes");
                            let Some(crate::types::Result::ScheduleStatusResult(r)) =
                                response.result
                            else {
                                panic!("not a task list");
                            };
                            assert_eq!(r.tasks.map(|t| t.len()), Some(tasks));
                        }
                    }
                });
            }
        });
    }

    #[test]
    fn a_bad_big_reply_is_an_error_not_a_lost_thread() {
        let mut body = reply(1, 10_000);
        body.truncate(body.len() / 2);
        for _ in 0..8 {
            assert!(matches!(
                decode_reply("getTasksStatus", 1, unread(body.clone())),
                Err(ReplyError::Wire(_))
            ));
        }
        assert!(decode_reply("getTasksStatus", 2, unread(reply(2, 10_000))).is_ok());
    }

    #[test]
    fn a_connection_failing_mid_body_is_the_transports_error_not_a_bad_reply() {
        for tasks in [1, 10_000] {
            let mut bytes = reply(1, tasks);
            bytes.truncate(bytes.len() / 2);
            let body = ReplyBody::Unread(UnreadBody::new(
                Box::new(Broken(std::io::Cursor::new(bytes))),
                None,
                |e| TransportError::new(crate::error::TransportErrorKind::Timeout, e.to_string()),
            ));
            match decode_reply("getTasksStatus", 1, body) {
                Err(ReplyError::Transport(e)) => {
                    assert_eq!(e.kind, crate::error::TransportErrorKind::Timeout, "{e}");
                }
                other => panic!("{tasks} tasks: {other:?}"),
            }
        }
    }
}
