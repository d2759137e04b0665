import Logging
import SignalboxCore
import Synchronization

/// Saves what a restart must not lose, every flush interval: the devices' last-seen times, the
/// checkpoint (the journal below it is dropped) and the new throttle windows. Between saves it
/// decides device silence (every 250 ms) and deletes records past their `retain:` (every minute).
///
/// Completion flows here, forward: lanes and actions complete messages in the ``InFlightTracker``,
/// whose checkpoint this saves.
final class Checkpointer: Sendable {
    private let tracker: InFlightTracker
    private let silence: SilenceMonitor
    private let throttles: ThrottleGate
    private let rules: Rulebook
    private let storage: RuntimeStorage
    private let interval: Duration
    private let metrics: RuntimeMetrics
    private let logger: Logger
    private let now: @Sendable () -> Int64
    private let savedCheckpoint: Mutex<Int64>
    private let stopping = Atomic<Bool>(false)
    /// One flush (or throttle reset) at a time, so saves and deletions reach storage in order.
    private let flushLock = AsyncLock()

    init(
        tracker: InFlightTracker, silence: SilenceMonitor, throttles: ThrottleGate, rules: Rulebook,
        storage: RuntimeStorage, checkpoint: Int64, interval: Duration, metrics: RuntimeMetrics,
        now: @escaping @Sendable () -> Int64, logger: Logger
    ) {
        self.tracker = tracker
        self.silence = silence
        self.throttles = throttles
        self.rules = rules
        self.storage = storage
        self.savedCheckpoint = Mutex(checkpoint)
        self.interval = interval
        self.metrics = metrics
        self.now = now
        self.logger = logger
    }

    /// Flushes every interval, checks silence and applies retention, until ``stop()``.
    func run() async {
        var lastSilenceCheck: Int64 = 0
        var lastRetention: Int64 = 0
        while !stopping.load(ordering: .relaxed), !Task.isCancelled {
            try? await Task.sleep(for: interval)
            await flush()
            let now = self.now()
            if now - lastSilenceCheck >= 250 {
                lastSilenceCheck = now
                checkSilence(now: now)
            }
            if now - lastRetention >= 60_000 {
                lastRetention = now
                await applyRetention()
            }
        }
    }

    /// Ends ``run()`` after its current pass.
    func stop() {
        stopping.store(true, ordering: .relaxed)
    }

    /// Decides which devices are silent at `now` (ms), judging no later than the oldest message not
    /// yet seen by its lane (see ``SilenceMonitor``), and queues their `silent` events.
    func checkSilence(now: Int64) {
        guard let silentAfter = rules.active.devices.silentAfter else { return }
        silence.due(now: silence.horizon(now: now), after: silentAfter.milliseconds)
    }

    /// Saves the devices' last-seen times, the checkpoint and the new throttle windows.
    func flush() async {
        await flushLock.run { await flushNow() }
    }

    private func flushNow() async {
        let checkpoint = tracker.checkpoint
        let saved = savedCheckpoint.withLock { $0 }
        metrics.inFlight.record(tracker.inFlight.count)
        // Every message up to `checkpoint` was seen by the silence monitor before it was done, so its
        // device is saved here first: after a crash no device is older than the checkpoint says.
        var devicesSaved = true
        let devices = silence.takeDirty()
        if !devices.isEmpty {
            do {
                try await storage.devices.save(devices)
            } catch {
                devicesSaved = false
                silence.restoreDirty(devices)
                logger.error("saving device last-seen times failed", metadata: ["error": "\(error)"])
            }
        }
        if devicesSaved && checkpoint > saved {
            do {
                try await storage.journal.checkpoint(checkpoint)
                savedCheckpoint.withLock { $0 = max($0, checkpoint) }
            } catch {
                logger.error("saving the checkpoint failed", metadata: ["error": "\(error)"])
            }
        }
        let windows = throttles.takeDirty(now: now())
        if !windows.isEmpty {
            do {
                try await storage.throttles.save(windows, now: now())
            } catch {
                throttles.restoreDirty(windows)
                logger.error("saving throttle windows failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Forgets throttle windows (all, a rule's, or one key's) and deletes them from storage, in order
    /// with the saves.
    func resetThrottles(rule: String?, key: String?) async throws -> Int {
        try await flushLock.run {
            let (windows, reservations) = throttles.reset(rule: rule, key: key)
            try await storage.throttles.remove(windows)
            logger.notice(
                "throttle windows reset", metadata: ["throttle.windows": "\(windows.count + reservations)"])
            return windows.count + reservations
        }
    }

    /// Deletes persisted records older than their table's `retain:` period.
    func applyRetention() async {
        let active = rules.active
        let handlers = active.rules.flatMap { $0.runners.map(\.handler) + ($0.errorRunner.map { [$0.handler] } ?? []) }
        let retention = RecordRetention(handlers)
        guard !retention.keep.isEmpty else { return }
        do {
            let deleted = try await retention.apply(to: storage.records, now: now())
            for (table, count) in deleted where count > 0 {
                logger.info(
                    "old records deleted", metadata: ["records.table": "\(table)", "records.deleted": "\(count)"])
            }
        } catch {
            logger.error("deleting old records failed", metadata: ["error": "\(error)"])
        }
    }
}
