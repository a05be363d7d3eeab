//! Big replies are decoded on a few threads of their own, as many as there are cores.
//!
//! A caller reading a cluster sends dozens of calls at once, each on its own thread, so that
//! their latencies overlap; their answers then arrive together. Decoding is CPU work, so
//! decoding more of them at once than there are cores finishes none sooner, and a decoded
//! reply takes several times the memory of its bytes (a 1,000-task `getTasksStatus` page:
//! ~0.6 MB on the wire, ~3 MB decoded). Decoded on the calling threads, every answer of a
//! 10,000-job cluster was held decoded at the same moment, and each calling thread's
//! allocator arena kept the high-water mark of what it had decoded: a plan's resident memory
//! was three times its heap. Decoded here, the calling thread waits for its answer as it
//! waited for the network, at most one big reply per core is being decoded, and only these
//! threads' arenas see decoded pages. Small replies are decoded where they arrive.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::types::Response;
use crate::wire::{self, WireError};

/// Replies at least this long are decoded on the decoding threads.
pub(crate) const BIG_REPLY: usize = 64 * 1024;

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

/// [`wire::decode_reply`] of `body`, on a decoding thread when it is big.
pub(crate) fn decode_reply(
    method: &'static str,
    seq: i32,
    body: Vec<u8>,
) -> Result<Response, WireError> {
    let queue = match queue() {
        Some(queue) if body.len() >= BIG_REPLY => queue,
        _ => return wire::decode_reply(method, seq, &body),
    };
    let (answer, answered) = mpsc::sync_channel(1);
    let work: Work = Box::new(move || {
        let _ = answer.send(wire::decode_reply(method, seq, &body));
    });
    if queue.send(work).is_err() {
        return Err(WireError::Protocol("the reply could not be decoded".into()));
    }
    answered
        .recv()
        .unwrap_or_else(|_| Err(WireError::Protocol("decoding the reply failed".into())))
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

    #[test]
    fn big_and_small_replies_decode_the_same_from_many_threads() {
        std::thread::scope(|scope| {
            for seq in 0..16 {
                scope.spawn(move || {
                    // Small (decoded in place) and big (on the decoding threads).
                    for tasks in [1, 10_000] {
                        let body = reply(seq, tasks);
                        assert_eq!(body.len() >= BIG_REPLY, tasks > 1);
                        let response = decode_reply("getTasksStatus", seq, body).expect("decodes");
                        let Some(crate::types::Result::ScheduleStatusResult(r)) = response.result
                        else {
                            panic!("not a task list");
                        };
                        assert_eq!(r.tasks.map(|t| t.len()), Some(tasks));
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
            assert!(decode_reply("getTasksStatus", 1, body.clone()).is_err());
        }
        assert!(decode_reply("getTasksStatus", 2, reply(2, 10_000)).is_ok());
    }
}
