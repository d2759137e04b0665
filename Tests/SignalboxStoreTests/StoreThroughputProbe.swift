import Foundation
import SignalboxCore
import SignalboxStore
import Testing

// TEMPORARY: timing probe, removed before finishing.
@Suite(.serialized) struct StoreThroughputProbe {
    @Test(arguments: [1, 4, 16])
    func journalAppend(_ writers: Int) async throws {
        try await withTemporaryDirectory { directory in
            let journal = try SQLiteJournal(directory: directory)
            let payload = [UInt8](repeating: UInt8(ascii: "x"), count: 200)
            let total = 600_000
            let batch = 1_000
            let batches: [[JournalEntry]] = stride(from: 0, to: total, by: batch).map { start in
                (start..<(start + batch)).map { i in
                    JournalEntry(
                        id: Int64(i + 1), topic: "sensors/device-\(i % 500)/telemetry", payload: payload,
                        receivedAt: 1_732_200_000_000 + Int64(i), clientID: "gw-\(i % 8)")
                }
            }
            let next = NextIndex()
            let done = NextIndex()
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<writers {
                    group.addTask {
                        while let index = next.take(below: batches.count) {
                            try await journal.append(batches[index])
                            done.advance(to: Int64(index))
                        }
                    }
                }
                group.addTask {
                    // Checkpoint every 100 ms, as the runtime would, trailing the appends.
                    while done.value < Int64(batches.count - 1) {
                        try await Task.sleep(for: .milliseconds(100))
                        try await journal.checkpoint(max(0, done.value - Int64(writers)) * Int64(batch))
                    }
                }
                try await group.waitForAll()
            }
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("PROBE journal writers=\(writers): \(Int(Double(total) / seconds)) entries/s (\(seconds) s)")
            try journal.close()
        }
    }

    @Test(arguments: [1, 4])
    func recordInsert(_ writers: Int) async throws {
        try await withTemporaryDirectory { directory in
            let storage = try SQLiteRecordStorage(directory: directory)
            let total = 400_000
            let batch = 512
            let batches: [[RecordRow]] = stride(from: 0, to: total, by: batch).map { start in
                (start..<min(total, start + batch)).map { i in
                    RecordRow(
                        idempotencyKey: "\(i + 1)/temperature-log/0", messageID: Int64(i + 1), rule: "temperature-log",
                        topic: "sensors/device-\(i % 1000)/telemetry", device: "device-\(i % 1000)",
                        receivedAt: 1_732_200_000_000 + Int64(i),
                        data: Array(#"{"temp":21.5,"humidity":40,"device":"device-\#(i % 1000)","seq":\#(i)}"#.utf8))
                }
            }
            let next = NextIndex()
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<writers {
                    group.addTask {
                        while let index = next.take(below: batches.count) {
                            try await storage.insert(batches[index], into: "readings")
                        }
                    }
                }
                try await group.waitForAll()
            }
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("PROBE records writers=\(writers): \(Int(Double(total) / seconds)) rows/s (\(seconds) s)")
            try storage.close()
        }
    }
}

import Synchronization

final class NextIndex: Sendable {
    private let state = Mutex<Int64>(0)
    private let highest = Mutex<Int64>(-1)
    func take(below limit: Int) -> Int? {
        state.withLock { value in
            guard value < limit else { return nil }
            defer { value += 1 }
            return Int(value)
        }
    }
    func advance(to index: Int64) { highest.withLock { $0 = max($0, index) } }
    var value: Int64 { highest.withLock { $0 } }
}
