import SignalboxCore
import Synchronization

/// At most one successful invocation per action, key and period.
///
/// The first invocation for a key **reserves** it: while it runs, retries included, other
/// invocations for the key are throttled, so concurrency and retries never send twice. When it
/// succeeds, the window of `per` opens (from that moment); when it fails for good, the reservation
/// is released and the next invocation for the key runs. Open windows are written through to
/// ``ThrottleStorage`` by the runtime, so they hold across restarts; reservations live in memory
/// only: after a crash the replayed invocation reserves again.
final class ThrottleGate: Sendable {
    private struct Reservation {
        var idempotencyKey: String
        var since: Int64
    }

    private struct State {
        var windows: [String: ThrottleEntry] = [:]
        var reserved: [String: Reservation] = [:]
        var dirty: [ThrottleEntry] = []
    }

    private let state = Mutex(State())
    private let now: @Sendable () -> Int64

    /// A gate holding `windows` (loaded from storage), reading the time from `now` when a window opens.
    init(windows: [ThrottleEntry], now: @escaping @Sendable () -> Int64) {
        self.now = now
        state.withLock { state in
            for window in windows { state.windows[Self.slot(window.action, window.key)] = window }
        }
    }

    private static func slot(_ action: String, _ key: String) -> String { action + "\u{0}" + key }

    /// A claim on `key` for the invocation `idempotencyKey`, or nil when it is throttled: a window is
    /// open, or another invocation holds the key. The replay of the invocation that opened an open
    /// window (after a crash) is let through without a new window.
    func acquire(action: String, key: String, per: Duration, now: Int64, idempotencyKey: String) -> ThrottleClaim? {
        let slot = Self.slot(action, key)
        return state.withLock { state in
            if let window = state.windows[slot], window.expiresAt > now {
                guard window.idempotencyKey == idempotencyKey else { return nil }
                return ThrottleClaim(gate: nil, action: action, key: key, per: per, idempotencyKey: idempotencyKey)
            }
            guard state.reserved[slot] == nil else { return nil }
            state.reserved[slot] = Reservation(idempotencyKey: idempotencyKey, since: now)
            return ThrottleClaim(gate: self, action: action, key: key, per: per, idempotencyKey: idempotencyKey)
        }
    }

    /// Ends `claim`'s reservation; a success opens the window from now.
    fileprivate func settle(_ claim: ThrottleClaim, succeeded: Bool) {
        let slot = Self.slot(claim.action, claim.key)
        let time = succeeded ? now() : 0
        state.withLock { state in
            if state.reserved[slot]?.idempotencyKey == claim.idempotencyKey { state.reserved[slot] = nil }
            guard succeeded else { return }
            let window = ThrottleEntry(
                action: claim.action, key: claim.key, startedAt: time, expiresAt: time + claim.per.milliseconds,
                idempotencyKey: claim.idempotencyKey)
            state.windows[slot] = window
            state.dirty.append(window)
        }
    }

    /// The windows opened since the last call, and forgets the expired ones.
    func takeDirty(now: Int64) -> [ThrottleEntry] {
        state.withLock { state in
            defer { state.dirty = [] }
            if state.windows.count > 1024 { state.windows = state.windows.filter { $0.value.expiresAt > now } }
            return state.dirty
        }
    }

    /// Puts windows that could not be saved back in line for the next save.
    func restoreDirty(_ windows: [ThrottleEntry]) {
        state.withLock { $0.dirty.insert(contentsOf: windows, at: 0) }
    }

    /// The windows open at `now` and the keys reserved by invocations in progress, of `rule` (every
    /// rule when nil), sorted by rule, action, then key.
    func list(rule: String?, now: Int64) -> [ThrottleWindow] {
        let listed = state.withLock { state in
            var listed: [ThrottleWindow] = []
            for window in state.windows.values where window.expiresAt > now {
                if let item = ThrottleWindow(
                    action: window.action, key: window.key, startedAt: window.startedAt, expiresAt: window.expiresAt,
                    idempotencyKey: window.idempotencyKey), rule == nil || item.rule == rule
                {
                    listed.append(item)
                }
            }
            for (slot, reservation) in state.reserved {
                let (action, key) = Self.split(slot)
                if let item = ThrottleWindow(
                    action: action, key: key, startedAt: reservation.since, expiresAt: nil,
                    idempotencyKey: reservation.idempotencyKey), rule == nil || item.rule == rule
                {
                    listed.append(item)
                }
            }
            return listed
        }
        return listed.sorted { left, right in
            if left.rule != right.rule { return left.rule.utf8.lexicographicallyPrecedes(right.rule.utf8) }
            if left.actionIndex != right.actionIndex { return left.actionIndex < right.actionIndex }
            if left.key != right.key { return left.key.utf8.lexicographicallyPrecedes(right.key.utf8) }
            return left.expiresAt != nil && right.expiresAt == nil
        }
    }

    /// Closes the windows and drops the reservations of `rule` (every rule when nil) and `key`
    /// (every key when nil); returns the windows closed, for the storage to forget them too, and
    /// how many reservations were dropped. An invocation whose reservation was dropped still opens
    /// its window if it succeeds.
    func reset(rule: String?, key: String?) -> (windows: [ThrottleEntry], reservations: Int) {
        state.withLock { state in
            func matches(_ action: String, _ entryKey: String) -> Bool {
                guard key == nil || key == entryKey else { return false }
                guard let rule else { return true }
                return ThrottleWindow.rule(ofAction: action) == rule
            }
            let closed = state.windows.values.filter { matches($0.action, $0.key) }
            for window in closed { state.windows[Self.slot(window.action, window.key)] = nil }
            let reservations = state.reserved.count
            state.reserved = state.reserved.filter { slot, _ in
                let (action, entryKey) = Self.split(slot)
                return !matches(action, entryKey)
            }
            state.dirty.removeAll { matches($0.action, $0.key) }
            return (closed, reservations - state.reserved.count)
        }
    }

    private static func split(_ slot: String) -> (action: String, key: String) {
        guard let separator = slot.firstIndex(of: "\u{0}") else { return (slot, "") }
        return (String(slot[..<separator]), String(slot[slot.index(after: separator)...]))
    }
}

/// The right of one invocation to run under its action's throttle; settled once, when the
/// invocation has succeeded or failed for good.
struct ThrottleClaim: Sendable {
    /// Nil for the replay of the invocation whose window is open: settling it changes nothing.
    fileprivate let gate: ThrottleGate?
    let action: String
    let key: String
    let per: Duration
    let idempotencyKey: String

    /// The invocation succeeded (the window opens) or failed for good (the key is free again).
    func settle(succeeded: Bool) {
        gate?.settle(self, succeeded: succeeded)
    }
}

extension ThrottleWindow {
    /// The window of throttle name `action` (`"{rule}/{action index}"`); nil when it is not one.
    package init?(action: String, key: String, startedAt: Int64, expiresAt: Int64?, idempotencyKey: String) {
        guard let slash = action.lastIndex(of: "/"), let index = Int(action[action.index(after: slash)...]) else {
            return nil
        }
        self.init(
            rule: String(action[..<slash]), actionIndex: index, key: key, startedAt: startedAt, expiresAt: expiresAt,
            idempotencyKey: idempotencyKey)
    }

    /// The rule of throttle name `action`.
    package static func rule(ofAction action: String) -> Substring {
        guard let slash = action.lastIndex(of: "/") else { return action[...] }
        return action[..<slash]
    }
}
