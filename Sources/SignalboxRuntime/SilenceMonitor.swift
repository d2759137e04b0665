import SignalboxCore
import Synchronization

/// A device's `silent` or `online` event, as the monitor decided it.
package struct DeviceEvent: Sendable, Hashable {
    /// Which event.
    package enum Kind: String, Sendable, Hashable {
        case silent
        case online
    }

    /// The device key.
    package var device: String
    package var kind: Kind
    /// The journal time of the device's newest message before the event.
    package var lastSeen: Int64
    /// The event's journal time: when the device became silent, or the time of the message that
    /// brought it back.
    package var at: Int64
    /// `devices.silent_after` in milliseconds, for a `silent` event (0 for `online`).
    package var silentAfter: Int64

    /// Bundles an event.
    package init(device: String, kind: Kind, lastSeen: Int64, at: Int64, silentAfter: Int64 = 0) {
        self.device = device
        self.kind = kind
        self.lastSeen = lastSeen
        self.at = at
        self.silentAfter = silentAfter
    }
}

/// When each device last sent a message, which devices are silent, and up to which time that can
/// be judged.
///
/// Every time is a journal time (when Signalbox received the message), never the time a lane got to
/// it, so a backlog replayed or handled late is judged as it arrived. Silence is judged only up to the
/// **horizon**: just before the oldest message received but not yet seen by the monitor (or `now`
/// when there is none), so a device is never called silent while one of its messages waits in a lane.
/// Time while Signalbox was down does not count: a device seen before a restart gets its full period
/// of uptime again, unless it was overdue already before the stop.
///
/// Events go to ``events`` in the order decided, so a device's `silent` always precedes its
/// `online`. What ``takeDirty()`` hands out to be saved is the state of devices whose events are
/// journaled (see ``journaled(_:)``): a crash never saves a decision whose event was lost.
///
/// ```swift
/// let monitor = SilenceMonitor(known: saved, startedAt: now)
/// monitor.expect([message.receivedAt])          // on ingest, before the journal write
/// monitor.seen("f1", at: message.receivedAt)     // in the lane
/// monitor.passed([message.receivedAt])           // after the lane's batch
/// monitor.due(now: monitor.horizon(now: now), after: 600_000)  // on a timer
/// ```
package final class SilenceMonitor: Sendable {
    private struct Device {
        var lastSeen: Int64
        var silent: Bool
        /// Events queued for the device and not yet journaled.
        var unjournaled = 0
    }

    private struct State {
        var devices: [String: Device] = [:]
        /// Devices whose state changed since the last ``takeDirty()``.
        var dirty: Set<String> = []
        /// Receive time → messages received at that time and not yet seen.
        var unseen: [Int64: Int] = [:]
    }

    private let state: Mutex<State>
    /// Until when Signalbox is known to have been receiving before this start (the newest journal
    /// time it knows of), and how long it was down after that.
    private let upUntil: Int64
    private let downtime: Int64
    /// The events decided, in order, for the runtime to journal.
    package let events = WorkQueue<DeviceEvent>()

    /// A monitor that knows the devices saved before this start.
    ///
    /// - Parameters:
    ///   - known: The saved devices.
    ///   - upUntil: The newest journal time of the previous run: the newest last-seen time and the
    ///     newest message still to be replayed; nil: the newest of `known`.
    ///   - startedAt: When this run started; the time between `upUntil` and it does not count.
    package init(known: [DeviceActivity] = [], upUntil: Int64? = nil, startedAt: Int64 = .min) {
        var devices: [String: Device] = [:]
        devices.reserveCapacity(known.count)
        for activity in known {
            devices[activity.device] = Device(lastSeen: activity.lastSeen, silent: activity.silent)
        }
        let upUntil = upUntil ?? known.lazy.map(\.lastSeen).max() ?? .min
        self.upUntil = upUntil
        self.downtime = upUntil != .min && startedAt > upUntil ? startedAt - upUntil : 0
        self.state = Mutex(State(devices: devices))
    }

    // MARK: Messages on their way

    /// Messages received at `times` are being journaled or wait in a lane: silence is not judged at
    /// or past the earliest until ``passed(_:)`` says they were seen.
    package func expect(_ times: some Sequence<Int64>) {
        // A batch's messages share their receive time: one dictionary update per run of equal times.
        let runs = Self.runs(of: times)
        guard !runs.isEmpty else { return }
        state.withLock { state in
            for (time, count) in runs { state.unseen[time, default: 0] += count }
        }
    }

    /// Messages ``expect(_:)`` announced were seen (or were never journaled).
    package func passed(_ times: some Sequence<Int64>) {
        let runs = Self.runs(of: times)
        guard !runs.isEmpty else { return }
        state.withLock { state in
            guard !state.unseen.isEmpty else { return }
            for (time, passed) in runs {
                guard let count = state.unseen[time] else { continue }
                state.unseen[time] = count > passed ? count - passed : nil
            }
        }
    }

    /// `times` as runs of equal values with their lengths, in order.
    static func runs(of times: some Sequence<Int64>) -> [(time: Int64, count: Int)] {
        var runs: [(time: Int64, count: Int)] = []
        for time in times {
            if let last = runs.last, last.time == time {
                runs[runs.count - 1].count += 1
            } else {
                runs.append((time, 1))
            }
        }
        return runs
    }

    /// The latest time silence can be judged at: `now`, or just before the oldest message not yet
    /// seen.
    package func horizon(now: Int64) -> Int64 {
        state.withLock { state in
            guard let oldest = state.unseen.keys.min() else { return now }
            return min(now, oldest - 1)
        }
    }

    // MARK: Decisions

    /// Records a message from `device` received at `time` (ms). A silent device reporting with a
    /// message newer than the one it was last seen with is back: its `online` event is queued. A
    /// device that went `after` ms without a message (of uptime) before this one, unnoticed because no
    /// check fell in the gap (a backlog handled faster than the checks run), gets both events, so
    /// every gap counts the same however fast the messages are handled.
    package func seen(_ device: String, at time: Int64, after: Int64) {
        state.withLock { state in
            guard var known = state.devices[device] else {
                state.devices[device] = Device(lastSeen: time, silent: false)
                state.dirty.insert(device)
                return
            }
            guard time > known.lastSeen else { return }
            if !known.silent {
                let silentAt = silentTime(lastSeen: known.lastSeen, after: after)
                if time >= silentAt {
                    known.silent = true
                    known.unjournaled += 1
                    events.push(
                        DeviceEvent(
                            device: device, kind: .silent, lastSeen: known.lastSeen, at: silentAt, silentAfter: after))
                }
            }
            if known.silent {
                known.silent = false
                known.unjournaled += 1
                events.push(DeviceEvent(device: device, kind: .online, lastSeen: known.lastSeen, at: time))
            }
            known.lastSeen = time
            state.devices[device] = known
            state.dirty.insert(device)
        }
    }

    /// Marks silent every device quiet for `after` milliseconds of uptime at `now` (give it
    /// ``horizon(now:)``) and queues their `silent` events, sorted by device; returns them.
    @discardableResult
    package func due(now: Int64, after: Int64) -> [DeviceEvent] {
        state.withLock { state in
            var due: [DeviceEvent] = []
            for (name, device) in state.devices where !device.silent {
                let silentAt = silentTime(lastSeen: device.lastSeen, after: after)
                guard now >= silentAt else { continue }
                due.append(
                    DeviceEvent(
                        device: name, kind: .silent, lastSeen: device.lastSeen, at: silentAt, silentAfter: after))
            }
            due.sort { $0.device < $1.device }
            for event in due {
                state.devices[event.device]?.silent = true
                state.devices[event.device]?.unjournaled += 1
                state.dirty.insert(event.device)
            }
            events.push(due)
            return due
        }
    }

    /// When a device last seen at `lastSeen` becomes silent: `after` later, plus the downtime when
    /// the period ran into it.
    private func silentTime(lastSeen: Int64, after: Int64) -> Int64 {
        let silentAt = lastSeen &+ after
        return lastSeen <= upUntil && silentAt > upUntil ? silentAt &+ downtime : silentAt
    }

    // MARK: Saving

    /// `events` are journaled: their devices' state may be saved.
    package func journaled(_ events: [DeviceEvent]) {
        state.withLock { state in
            for event in events { state.devices[event.device]?.unjournaled -= 1 }
        }
    }

    /// The state of the devices changed since the last call, except those with events not yet
    /// journaled (they stay for a later call).
    package func takeDirty() -> [DeviceActivity] {
        state.withLock { state in
            var taken: [DeviceActivity] = []
            for name in state.dirty {
                guard let device = state.devices[name], device.unjournaled == 0 else { continue }
                taken.append(DeviceActivity(device: name, lastSeen: device.lastSeen, silent: device.silent))
            }
            for activity in taken { state.dirty.remove(activity.device) }
            return taken
        }
    }

    /// Devices whose state could not be saved: saved with the next ``takeDirty()``.
    package func restoreDirty(_ activities: [DeviceActivity]) {
        state.withLock { state in
            for activity in activities { state.dirty.insert(activity.device) }
        }
    }
}
