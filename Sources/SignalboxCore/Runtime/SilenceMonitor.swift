import Synchronization

/// When each device last sent a message, and which devices are silent.
///
/// Pure bookkeeping with times passed in, so tests drive it with any clock: the runtime calls
/// ``seen(_:at:)`` for every device message and ``due(now:after:)`` on a timer.
package final class SilenceMonitor: Sendable {
    private struct Device {
        var lastSeen: Int64
        var silent: Bool
    }

    private let devices = Mutex<[String: Device]>([:])

    /// A monitor that knows no device yet.
    package init() {}

    /// Records a message from `device` received at `time` (ms); returns when it was last seen if it
    /// was silent until now (it is back).
    package func seen(_ device: String, at time: Int64) -> Int64? {
        devices.withLock { devices in
            if var known = devices[device] {
                let wasSilent = known.silent
                let previous = known.lastSeen
                known.lastSeen = max(known.lastSeen, time)
                known.silent = false
                devices[device] = known
                return wasSilent ? previous : nil
            }
            devices[device] = Device(lastSeen: time, silent: false)
            return nil
        }
    }

    /// Devices quiet for `after` milliseconds or more at `now`, newly marked silent, with when each
    /// was last seen; sorted by device.
    package func due(now: Int64, after: Int64) -> [(device: String, lastSeen: Int64)] {
        devices.withLock { devices in
            var due: [(device: String, lastSeen: Int64)] = []
            for (name, device) in devices where !device.silent && now - device.lastSeen >= after {
                devices[name]?.silent = true
                due.append((name, device.lastSeen))
            }
            return due.sorted { $0.device < $1.device }
        }
    }

    /// The earliest time (ms) at which a device not yet silent becomes due, if any.
    package func nextDue(after: Int64) -> Int64? {
        devices.withLock { devices in
            devices.values.lazy.filter { !$0.silent }.map { $0.lastSeen + after }.min()
        }
    }
}
