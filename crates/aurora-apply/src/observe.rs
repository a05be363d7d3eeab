//! Reads the live state of everything in scope in as few round trips as possible.
//!
//! Per role: `getTasksStatus` for its active tasks (full configs, paged with offset/limit),
//! `getJobs` for its cron templates and `getJobUpdateSummaries` for its active updates;
//! `getTierConfigs` once per cluster. The number of calls grows with the number of roles,
//! not jobs, and roles are read in parallel (bounded). Nothing is written.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use aurora_api::Client;
use aurora_api::types::{ConstACTIVEJOBUPDATESTATES, ConstACTIVESTATES, JobUpdateQuery, TaskQuery};

use crate::error::EngineError;
use crate::live::LiveState;
use crate::normalize::Tiers;
use crate::pool::{Gate, Pass, into_inner, lock};

/// Jobs the specs place in a role from which it is read as a big one (see [`read_roles`]):
/// its first task page holds at least this many tasks, some 0.7 MB decoded.
pub const BIG_ROLE_JOBS: usize = 250;

/// Read calls in flight at once by default. Aurora 0.22 serves the API from Jetty's default
/// thread pool (JettyServerModule creates `new Server()`: at most 200 threads) and these
/// reads and confirmations (`getJobUpdateDiff`, `populateJobConfig`) are answered from its
/// in-memory store; 64 is a third of that pool, leaving two thirds to everyone else, and
/// reads a cluster of up to 21 roles in one round trip and confirms up to 64 changed jobs in
/// one more — the two round trips a plan needs at least.
pub const DEFAULT_PARALLELISM: usize = 64;

/// How to read.
#[derive(Debug, Clone)]
pub struct ObserveOptions {
    /// Tasks per `getTasksStatus` page.
    pub page_size: i32,
    /// Read calls in flight at once (and confirmations, in planning): `--parallelism`.
    pub parallelism: usize,
}

impl Default for ObserveOptions {
    fn default() -> Self {
        ObserveOptions {
            page_size: 1000,
            parallelism: DEFAULT_PARALLELISM,
        }
    }
}

/// Live state of one cluster's roles, and its tiers.
#[derive(Debug, Clone)]
pub struct Observed {
    /// Jobs of the roles read.
    pub live: LiveState,
    /// The cluster's tier configuration.
    pub tiers: Tiers,
    /// Round trips made (for tests and benchmarks).
    pub calls: usize,
}

/// The distinct roles of some job keys, sorted: the unit observing works in.
pub fn roles_of<'a>(keys: impl IntoIterator<Item = &'a aurora_api::types::JobKey>) -> Vec<String> {
    keys.into_iter()
        .filter_map(|k| k.role.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// Reads the tiers and `roles` of the cluster behind `client`, all in one round trip of
/// latency. `cluster` names it in errors.
pub fn observe(
    client: &Client,
    cluster: &str,
    roles: &[String],
    options: &ObserveOptions,
) -> Result<Observed, EngineError> {
    let live = Mutex::new(LiveState::default());
    let tiers = Mutex::new(None);
    let calls = read_roles(
        client,
        cluster,
        roles,
        &[],
        options,
        &|read| *lock(&tiers) = read,
        &|_, role| lock(&live).merge(role),
    )?;
    Ok(Observed {
        live: into_inner(live),
        // Read above (an answer without tiers leaves Aurora's defaults).
        tiers: into_inner(tiers).unwrap_or_else(|| Tiers::from_thrift(&Default::default())),
        calls,
    })
}

/// The cluster's tiers (`getTierConfigs`): one round trip.
pub fn read_tiers(client: &Client, cluster: &str) -> Result<Tiers, EngineError> {
    let tiers = client
        .get_tier_configs()
        .map_err(|e| EngineError::api(format!("reading tiers of {cluster}"), e))?;
    Ok(Tiers::from_thrift(&tiers.value))
}

/// Every read of `roles` and the tiers, in one bounded wave; returns the round trips made.
///
/// The three reads of every role are independent, so all of them — every role's
/// `getJobs`, `getJobUpdateSummaries` and first `getTasksStatus` page — and `getTierConfigs`
/// go out at once, bounded by `options.parallelism` calls in flight: one round trip of
/// latency for the whole cluster instead of three per role. A role whose first task page was
/// full reads all its further pages at once, in a second round trip.
///
/// What is read is handed over as soon as it is complete, on the thread that completed it:
/// the tiers to `on_tiers` (`None` when reading them failed; the error is returned), and each
/// role's live jobs to `on_role` once its last read is in. A caller that plans a role there
/// and keeps only the outcome never holds the whole cluster's task configs at once. The
/// tiers are read first (the first call out), so an `on_role` may wait for `on_tiers`.
///
/// `desired_jobs[i]` is how many jobs the specs place in `roles[i]` (0, or missing, when
/// unknown). A role of at least [`BIG_ROLE_JOBS`] is big: its big reads (`getJobs`, the
/// first task page) are asked for only while fewer than one big role per core (plus one) is
/// being read or handed over, it reads its further pages at once as soon as its first reads
/// are in, and its room is given back once `on_role` returns. Answers come back faster than
/// roles are planned (planning is most of the CPU), so without the room every big role's
/// answers were held at once, and a role of several pages held its first for a wave of every
/// role's. What a big cluster holds is then a few roles, not all of them; small roles, the
/// usual case, are all read at once, their further pages in one more wave.
pub fn read_roles(
    client: &Client,
    cluster: &str,
    roles: &[String],
    desired_jobs: &[usize],
    options: &ObserveOptions,
    on_tiers: &(dyn Fn(Option<Tiers>) + Sync),
    on_role: &(dyn Fn(&str, LiveState) + Sync),
) -> Result<usize, EngineError> {
    let big_roles = Gate::new(std::thread::available_parallelism().map_or(1, usize::from) + 1);
    let calls_in_flight = Gate::new(options.parallelism);
    let reading = Reading {
        client,
        cluster,
        roles,
        options,
        page_size: options.page_size.max(1),
        on_role,
        big: roles
            .iter()
            .enumerate()
            .map(|(i, _)| desired_jobs.get(i).is_some_and(|&n| n >= BIG_ROLE_JOBS))
            .collect(),
        big_roles: &big_roles,
        calls_in_flight: &calls_in_flight,
        slots: roles.iter().map(|_| Mutex::default()).collect(),
        rooms: roles.iter().map(|_| Mutex::default()).collect(),
        further_calls: AtomicUsize::new(0),
    };
    let reads: Vec<Option<(usize, Read)>> = std::iter::once(None)
        .chain((0..roles.len()).flat_map(|role| {
            [Read::Jobs, Read::Updates, Read::Tasks(0)].map(|read| Some((role, read)))
        }))
        .collect();
    // `None` is the tiers.
    let answers = crate::pool::parallel_map(&reads, options.parallelism, |&read| match read {
        None => match reading.call(|| client.get_tier_configs()) {
            Ok(tiers) => {
                on_tiers(Some(Tiers::from_thrift(&tiers.value)));
                Ok(())
            }
            Err(e) => {
                on_tiers(None);
                Err(EngineError::api(format!("reading tiers of {cluster}"), e))
            }
        },
        Some((role, read)) => reading.first_read(role, read),
    });
    answers.into_iter().collect::<Result<(), EngineError>>()?;
    let mut calls = reads.len() + reading.further_calls.load(Ordering::Relaxed);
    // Small roles with more tasks than a page: every further page of every such role at once,
    // in one more round trip (see `Reading::further_pages`).
    let mut pages: Vec<(usize, i32)> = Vec::new();
    for role in 0..roles.len() {
        pages.extend(reading.further_pages(role).into_iter().map(|o| (role, o)));
    }
    let read = crate::pool::parallel_map(&pages, options.parallelism, |&(role, offset)| {
        if reading.further_page(role, offset)? {
            reading.hand_over(role);
        }
        Ok::<(), EngineError>(())
    });
    calls += pages.len();
    read.into_iter().collect::<Result<(), EngineError>>()?;
    let rest: Vec<(usize, i32)> = (0..roles.len())
        .filter_map(|role| {
            lock(&reading.slots[role])
                .next_offset
                .map(|next| (role, next))
        })
        .collect();
    let rest = crate::pool::parallel_map(&rest, options.parallelism, |&(role, next)| {
        let calls = reading.read_on(role, next)?;
        reading.hand_over(role);
        Ok::<_, EngineError>(calls)
    });
    for result in rest {
        calls += result?;
    }
    Ok(calls)
}

/// One cluster being read (see [`read_roles`]).
struct Reading<'a> {
    client: &'a Client,
    cluster: &'a str,
    roles: &'a [String],
    options: &'a ObserveOptions,
    page_size: i32,
    on_role: &'a (dyn Fn(&str, LiveState) + Sync),
    /// Which roles are big.
    big: Vec<bool>,
    /// Room for the big roles read at once.
    big_roles: &'a Gate,
    /// Every call takes a turn here: a big role's further pages are read by threads of
    /// their own, and the calls in flight stay within `--parallelism` all the same.
    calls_in_flight: &'a Gate,
    /// What has been read of each role.
    slots: Vec<Mutex<RoleRead>>,
    /// Each big role's room.
    rooms: Vec<Mutex<Room<'a>>>,
    /// Calls made reading big roles' further pages.
    further_calls: AtomicUsize,
}

impl<'a> Reading<'a> {
    fn error(&self, role: usize) -> impl Fn(aurora_api::ApiError) -> EngineError + '_ {
        move |e| {
            let role = self.roles.get(role).map_or("", String::as_str);
            EngineError::api(format!("reading role {role} on {}", self.cluster), e)
        }
    }

    /// One call, in its turn among the calls in flight.
    fn call<T>(&self, call: impl FnOnce() -> T) -> T {
        let _turn = self.calls_in_flight.enter();
        call()
    }

    /// Gives back a role's room (it is not taken again).
    fn leave(&self, role: usize) -> Room<'a> {
        std::mem::replace(&mut *lock(&self.rooms[role]), Room::Left)
    }

    /// Hands a role's live jobs over, outside its lock, then gives back its room.
    fn hand_over(&self, role: usize) {
        let live = std::mem::take(&mut lock(&self.slots[role]).live);
        (self.on_role)(&self.roles[role], live);
        drop(self.leave(role));
    }

    /// One of a role's three first reads, folded in; the last one in hands the role over,
    /// after reading a big role's further pages itself.
    fn first_read(&self, role: usize, read: Read) -> Result<(), EngineError> {
        // A big role's first big answer (`getJobs` lists every job of the role) waits for
        // room; its other reads go in with it.
        if self.big[role] && matches!(read, Read::Jobs | Read::Tasks(_)) {
            let mut room = lock(&self.rooms[role]);
            if matches!(*room, Room::Waiting) {
                *room = Room::In {
                    _pass: self.big_roles.enter(),
                };
            }
        }
        let answer =
            match self.call(|| read_one(self.client, &self.roles[role], read, self.page_size)) {
                Ok(answer) => answer,
                Err(e) => {
                    // The role is never handed over: its room is given back now.
                    drop(self.leave(role));
                    return Err(self.error(role)(e));
                }
            };
        let mut slot = lock(&self.slots[role]);
        match answer {
            Answer::Jobs(jobs) => {
                // How many active tasks the role has, as `getJobs` counts them: which further
                // pages to ask for at once. Aurora synthesises a service's config with
                // `instanceCount` = its active tasks (ReadOnlySchedulerImpl.getJobs,
                // rel/0.22.0); a cron template's own count replaces it, so this is an
                // estimate, and reading goes on past it when the last page is full.
                slot.expected_tasks = jobs
                    .iter()
                    .map(|j| i64::from(j.instance_count.unwrap_or(0).max(0)))
                    .sum();
                slot.has_cron = jobs.iter().any(crate::live::is_cron);
                // `getJobs` also returns every service synthesised from its tasks: dropped
                // here at once, only cron templates are kept.
                slot.live.add_jobs(jobs);
            }
            Answer::Updates(updates) => slot.live.add_updates(updates),
            Answer::Tasks(tasks) => {
                let n = i32::try_from(tasks.len()).unwrap_or(i32::MAX);
                slot.tasks_read += i64::from(n);
                slot.live.add_tasks(tasks);
                if n >= self.page_size {
                    slot.next_offset = Some(n);
                }
            }
        }
        slot.first_reads += 1;
        if slot.first_reads < 3 {
            return Ok(());
        }
        if slot.counted_all() {
            slot.next_offset = None;
        }
        let complete = slot.next_offset.is_none();
        drop(slot);
        if self.big[role] {
            // A big role reads its further pages now, in its room, so that its pages are
            // never held for a wave of other roles' pages.
            if let Err(e) = self.read_further_pages(role) {
                drop(self.leave(role));
                return Err(e);
            }
            self.hand_over(role);
        } else if complete {
            self.hand_over(role);
        }
        // Otherwise its further pages are read with the other small roles', after this wave.
        Ok(())
    }

    /// The pages a role still needs after its first page, all asked for at once: every
    /// further page `getJobs` says the role has — and, unless that count is exact (see
    /// `RoleRead::counted_all`), the one after it, which shows the end. Should the last of
    /// them still be full (tasks were added meanwhile), the role reads on page by page
    /// ([`Reading::read_on`]). Every page read is kept (a task that moved between pages
    /// while they were read is where it was last seen).
    fn further_pages(&self, role: usize) -> Vec<i32> {
        let mut slot = lock(&self.slots[role]);
        let Some(first) = slot.next_offset.take() else {
            return Vec::new();
        };
        let exact = slot.count_is_exact();
        let mut pages = Vec::new();
        let mut offset = first;
        loop {
            pages.push(offset);
            slot.pages_left += 1;
            slot.last_page = offset;
            let next = i64::from(offset) + i64::from(self.page_size);
            // This page is expected to be short (or empty): it shows the end. With an
            // exact count, the page that ends at it is the last.
            if next > slot.expected_tasks || (exact && next >= slot.expected_tasks) {
                break;
            }
            offset = offset.saturating_add(self.page_size);
        }
        pages
    }

    /// One task page of a role, from `offset`, in its turn.
    fn page(
        &self,
        role: usize,
        offset: i32,
    ) -> Result<Vec<aurora_api::types::ScheduledTask>, EngineError> {
        let read = || {
            read_one(
                self.client,
                &self.roles[role],
                Read::Tasks(offset),
                self.page_size,
            )
        };
        match self.call(read).map_err(self.error(role))? {
            Answer::Tasks(page) => Ok(page),
            // A task read answers with tasks.
            Answer::Jobs(_) | Answer::Updates(_) => Ok(Vec::new()),
        }
    }

    /// Reads and folds in one further page; true when the role is then complete.
    fn further_page(&self, role: usize, offset: i32) -> Result<bool, EngineError> {
        let page = self.page(role, offset)?;
        let n = i32::try_from(page.len()).unwrap_or(i32::MAX);
        let mut slot = lock(&self.slots[role]);
        slot.live.add_tasks(page);
        Ok(slot.further_page_in(offset, n, self.page_size))
    }

    /// A big role's further pages, all at once, then page by page while the last is full.
    fn read_further_pages(&self, role: usize) -> Result<(), EngineError> {
        let pages = self.further_pages(role);
        let read = crate::pool::parallel_map(&pages, self.options.parallelism, |&offset| {
            self.further_page(role, offset)
        });
        self.further_calls.fetch_add(pages.len(), Ordering::Relaxed);
        read.into_iter()
            .collect::<Result<Vec<bool>, EngineError>>()?;
        let next = lock(&self.slots[role]).next_offset;
        if let Some(next) = next {
            let calls = self.read_on(role, next)?;
            self.further_calls.fetch_add(calls, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Reads a role's pages one by one from `offset` to the first short page; returns the
    /// calls made.
    fn read_on(&self, role: usize, offset: i32) -> Result<usize, EngineError> {
        let mut calls = 0;
        let mut offset = offset;
        loop {
            let page = self.page(role, offset)?;
            calls += 1;
            let n = i32::try_from(page.len()).unwrap_or(i32::MAX);
            lock(&self.slots[role]).live.add_tasks(page);
            if n < self.page_size {
                break;
            }
            offset = offset.saturating_add(n);
        }
        lock(&self.slots[role]).next_offset = None;
        Ok(calls)
    }
}

/// A big role's room among the roles read at once.
#[derive(Debug, Default)]
enum Room<'g> {
    /// None taken yet.
    #[default]
    Waiting,
    /// Taken, until the role is handed over.
    In {
        /// Held for its room.
        _pass: Pass<'g>,
    },
    /// Given back (handed over, failed, or on to a further wave): not taken again.
    Left,
}

/// What has been read of one role so far.
#[derive(Default)]
struct RoleRead {
    /// Its live jobs.
    live: LiveState,
    /// How many of its three first reads are in.
    first_reads: usize,
    /// Active tasks `getJobs` counts for it.
    expected_tasks: i64,
    /// Whether `getJobs` listed a cron template (whose count is the template's, not its
    /// active tasks').
    has_cron: bool,
    /// Tasks read so far.
    tasks_read: i64,
    /// The offset to read next, while its last page read was full.
    next_offset: Option<i32>,
    /// Further pages asked for and not yet in.
    pages_left: usize,
    /// The offset of the last further page asked for at once.
    last_page: i32,
}

impl RoleRead {
    /// Whether `getJobs` counted the role's active tasks exactly: Aurora synthesises every
    /// job without a cron template from its active tasks, with `instanceCount` = their
    /// number (ReadOnlySchedulerImpl.getJobs, rel/0.22.0), so without cron templates the
    /// counts add up to the role's active tasks as `getJobs` saw them. A role with none
    /// counted is not trusted to be empty.
    fn count_is_exact(&self) -> bool {
        !self.has_cron && self.expected_tasks > 0
    }

    /// Whether every task `getJobs` counted has been read, by an exact count: no further
    /// page is needed to see the end (a role of exactly 1,000 tasks reads no empty page).
    fn counted_all(&self) -> bool {
        self.count_is_exact() && self.tasks_read >= self.expected_tasks
    }

    /// Counts in a further page of `n` tasks read at `offset` (its tasks are folded in by the
    /// caller); true when the role is complete: every page asked for at once is in, and either
    /// the count is read in full or the last page was short. Pages arrive in any order, so
    /// this is decided once they are all in.
    fn further_page_in(&mut self, offset: i32, n: i32, page_size: i32) -> bool {
        self.tasks_read += i64::from(n);
        if offset == self.last_page && n >= page_size {
            self.next_offset = Some(offset.saturating_add(n));
        }
        self.pages_left = self.pages_left.saturating_sub(1);
        if self.pages_left > 0 {
            return false;
        }
        if self.counted_all() {
            self.next_offset = None;
        }
        self.next_offset.is_none()
    }
}

/// One read of a role.
#[derive(Clone, Copy, Debug)]
enum Read {
    /// `getJobs`: cron templates (and every service synthesised from its tasks).
    Jobs,
    /// `getJobUpdateSummaries` of the active updates.
    Updates,
    /// One `getTasksStatus` page of the active tasks, from this offset.
    Tasks(i32),
}

/// What a read returned.
enum Answer {
    Jobs(Vec<aurora_api::types::JobConfiguration>),
    Updates(Vec<aurora_api::types::JobUpdateSummary>),
    Tasks(Vec<aurora_api::types::ScheduledTask>),
}

fn read_one(
    client: &Client,
    role: &str,
    read: Read,
    page_size: i32,
) -> Result<Answer, aurora_api::ApiError> {
    Ok(match read {
        Read::Jobs => Answer::Jobs(
            client
                .get_jobs(Some(role))?
                .value
                .configs
                .unwrap_or_default()
                .into_iter()
                .collect(),
        ),
        Read::Updates => {
            let query = JobUpdateQuery {
                role: Some(role.to_string()),
                update_statuses: Some(ConstACTIVEJOBUPDATESTATES::const_value()),
                ..JobUpdateQuery::default()
            };
            Answer::Updates(
                client
                    .get_job_update_summaries(&query)?
                    .value
                    .update_summaries
                    .unwrap_or_default(),
            )
        }
        Read::Tasks(offset) => {
            let query = TaskQuery {
                role: Some(role.to_string()),
                statuses: Some(ConstACTIVESTATES::const_value()),
                offset: Some(offset),
                limit: Some(page_size),
                ..TaskQuery::default()
            };
            Answer::Tasks(
                client
                    .get_tasks_status(&query)?
                    .value
                    .tasks
                    .unwrap_or_default(),
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(expected_tasks: i64, has_cron: bool, tasks_read: i64) -> RoleRead {
        RoleRead {
            expected_tasks,
            has_cron,
            tasks_read,
            ..RoleRead::default()
        }
    }

    #[test]
    fn only_an_exact_count_ends_the_reading_without_a_short_page() {
        // Every task getJobs counted has been read, and the count is exact.
        assert!(read(1000, false, 1000).counted_all());
        assert!(read(1000, false, 1001).counted_all());
        assert!(!read(1000, false, 999).counted_all());
        // A cron template counts its own instances, not active tasks: read to a short page.
        assert!(!read(1000, true, 1000).counted_all());
        // Nothing counted (tasks created after getJobs answered): read to a short page.
        assert!(!read(0, false, 1000).counted_all());
    }

    #[test]
    fn further_pages_end_the_role_whatever_order_they_arrive_in() {
        // 3,000 tasks counted, the first page of 1,000 read, pages at 1,000 and 2,000 asked.
        let asked = |has_cron| RoleRead {
            pages_left: 2,
            last_page: 2000,
            ..read(3000, has_cron, 1000)
        };
        for order in [[1000, 2000], [2000, 1000]] {
            let mut role = asked(false);
            assert!(!role.further_page_in(order[0], 1000, 1000));
            assert!(role.further_page_in(order[1], 1000, 1000), "{order:?}");
            assert_eq!(role.next_offset, None);
            // With a cron template the count is not exact: the page after is read.
            let mut role = asked(true);
            assert!(!role.further_page_in(order[0], 1000, 1000));
            assert!(!role.further_page_in(order[1], 1000, 1000), "{order:?}");
            assert_eq!(role.next_offset, Some(3000));
        }
        // A short last page ends it, count or not.
        let mut role = asked(true);
        assert!(!role.further_page_in(2000, 400, 1000));
        assert!(role.further_page_in(1000, 1000, 1000));
    }
}
