import Foundation
import Synchronization

/// The worker processes this server started, one file each (named by the process id, holding its
/// start time) in a directory of the data directory, so that the next start stops the workers a
/// server killed with `kill -9` left behind.
///
/// The start time (`/proc/PID/stat`, field 22) tells a leftover worker from an unrelated process that
/// got its id since: only a process with both the id and the start time recorded is stopped.
package struct WorkerRecords: Sendable {
    /// The directory of the records.
    package let directory: String

    /// Records in `directory`, created if needed.
    package init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// A worker started as process `pid`.
    func started(_ pid: Int32) {
        guard let start = Self.startTime(of: pid) else { return }
        FileManager.default.createFile(atPath: path(pid), contents: Data(start.utf8))
    }

    /// Worker `pid` has ended.
    func ended(_ pid: Int32) {
        try? FileManager.default.removeItem(atPath: path(pid))
    }

    /// Stops (SIGKILL, with their process groups) the recorded workers that still run, forgets every
    /// record, and returns how many were stopped. Called before any worker of this server starts.
    package func stopLeftovers() -> Int {
        var stopped = 0
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            defer { try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(name)) }
            guard let pid = Int32(name), pid > 1,
                let recorded = FileManager.default.contents(
                    atPath: (directory as NSString).appendingPathComponent(name)),
                let start = Self.startTime(of: pid), start == String(decoding: recorded, as: UTF8.self)
            else { continue }
            _ = kill(-pid, SIGKILL)
            _ = kill(pid, SIGKILL)
            stopped += 1
        }
        return stopped
    }

    private func path(_ pid: Int32) -> String { (directory as NSString).appendingPathComponent(String(pid)) }

    /// The start time of process `pid` in clock ticks since boot (`/proc/PID/stat`, field 22); nil
    /// when there is no such process.
    static func startTime(of pid: Int32) -> String? {
        guard let data = WorkerPeer.readProcFile("/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        // The command name (field 2) is in parentheses and may hold spaces: count from after it.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // Field 3 is the first after the name, so field 22 is the 20th.
        return fields.count > 19 ? String(fields[19]) : nil
    }
}
