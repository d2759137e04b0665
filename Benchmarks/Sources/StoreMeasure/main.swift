import Foundation
import SignalboxCore
import SignalboxJSON
import SignalboxStore

// Shadow store throughput and latency against SQLite in a temporary data directory.
//
//     swift run -c release --package-path Benchmarks measure-store [--updates N] [--shadows N]
//         [--gets N] [--durability normal|full] [--keep]
//
// 1. updates: 64 concurrent callers update random shadows among 10,000 things through
//    ShadowService over SQLiteShadowStorage (group commit); reports updates/s and latency.
// 2. gets: fills the store up to --shadows shadows (default 1,000,000) through group-committed
//    modifications, then times random ShadowService.get calls of existing shadows, one at a time.

/// SplitMix64: fast, seedable, no shared state.
struct Random {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

func option(_ name: String, _ fallback: Int) -> Int {
    let arguments = CommandLine.arguments
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count, let value = Int(arguments[i + 1]) else {
        return fallback
    }
    return value
}

let updates = option("--updates", 200_000)
let shadowCount = option("--shadows", 1_000_000)
let gets = option("--gets", 200_000)
let callers = option("--callers", 64)
let updateThings = option("--things", 10_000)
let durability: AppDatabase.Durability =
    CommandLine.arguments.contains("full") ? .full : .normal
let keep = CommandLine.arguments.contains("--keep")

let clock = ContinuousClock()
func nanoseconds(_ duration: Duration) -> Int64 {
    duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
}
func seconds(_ duration: Duration) -> Double { Double(nanoseconds(duration)) / 1e9 }

/// "p50 12.3 µs  p99 …" of sorted latencies in nanoseconds.
func percentiles(_ latencies: [Int64]) -> String {
    let sorted = latencies.sorted()
    func at(_ q: Double) -> String {
        let value = sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]
        return String(format: "%.1f µs", Double(value) / 1_000)
    }
    return "p50 \(at(0.5))  p99 \(at(0.99))  p99.9 \(at(0.999))  max \(at(1.0))"
}

let directory = FileManager.default.temporaryDirectory.appendingPathComponent("signalbox-store-bench-\(UUID())").path
defer { if !keep { try? FileManager.default.removeItem(atPath: directory) } }
let database = try AppDatabase(directory: directory, durability: durability)
let storage = SQLiteShadowStorage(database: database)
/// Takes every event (so the service builds and serializes them, as it will for MQTT) and drops it.
struct DroppingPublisher: MessagePublisher {
    func publish(_ messages: [OutgoingMessage]) async {}
}

// `--in-memory` runs the update workload over InMemoryShadowStorage: the service's own cost.
let updateService = ShadowService(
    storage: CommandLine.arguments.contains("--in-memory") ? InMemoryShadowStorage() : storage,
    publisher: DroppingPublisher())
let service = ShadowService(storage: storage)
print("data directory: \(directory) (durability \(durability.rawValue))")

// MARK: 1. Concurrent updates

/// Runs `count` updates from `callers` concurrent callers; returns each update's latency.
func runUpdates(count: Int, callers: Int, things: Int) async throws -> [Int64] {
    try await withThrowingTaskGroup(of: [Int64].self) { group in
        for caller in 0..<callers {
            let share = count / callers + (caller < count % callers ? 1 : 0)
            group.addTask {
                var random = Random(state: UInt64(caller + 1))
                var latencies: [Int64] = []
                latencies.reserveCapacity(share)
                for n in 0..<share {
                    let key = ShadowKey(thing: "device-\(random.below(things))")
                    let body = Array(#"{"state":{"reported":{"temp":\#(20 + n % 10).5,"n":\#(n)}}}"#.utf8)
                    let start = clock.now
                    _ = try await updateService.update(key, body: body)
                    latencies.append(nanoseconds(clock.now - start))
                }
                return latencies
            }
        }
        return try await group.reduce(into: []) { $0 += $1 }
    }
}

_ = try await runUpdates(count: 5_000, callers: callers, things: updateThings)  // warm up
let updateStart = clock.now
let updateLatencies = try await runUpdates(count: updates, callers: callers, things: updateThings)
let updateElapsed = clock.now - updateStart
print(
    String(
        format: "updates: %d updates, %d callers, %d things: %.2f s, %.0f updates/s", updates, callers, updateThings,
        seconds(updateElapsed), Double(updates) / seconds(updateElapsed)))
print("  update latency: \(percentiles(updateLatencies))")

// MARK: 2. Gets among many shadows

/// The shadow the benchmark stores as number `index`.
func populationKey(_ index: Int) -> ShadowKey { ShadowKey(thing: "sensor-\(index)") }

let fillStart = clock.now
let reported: JSONObject = ["temp": 21.5, "humidity": 40, "firmware": "1.4.2", "online": true]
let reportedMetadata: JSONObject = [
    "temp": ["timestamp": 1_732_200_000], "humidity": ["timestamp": 1_732_200_000],
    "firmware": ["timestamp": 1_732_200_000], "online": ["timestamp": 1_732_200_000],
]
let fillers = 512
try await withThrowingTaskGroup(of: Void.self) { group in
    for filler in 0..<fillers {
        group.addTask {
            var index = filler
            while index < shadowCount {
                _ = try await storage.modify(populationKey(index)) { current in
                    let record = ShadowRecord(
                        reported: reported, reportedMetadata: reportedMetadata, version: (current?.version ?? 0) + 1,
                        timestamp: 1_732_200_000)
                    return ShadowModification(record: record, kind: .updated, desiredChanged: false, result: ())
                }
                index += fillers
            }
        }
    }
    try await group.waitForAll()
}
let fillElapsed = clock.now - fillStart
print(
    String(
        format: "fill: %d shadows in %.1f s (%.0f modifications/s, %d concurrent writers)", shadowCount,
        seconds(fillElapsed), Double(shadowCount) / seconds(fillElapsed), fillers))

// Off the main actor, so the timings don't include hops back to it.
let (getLatencies, getElapsed) = try await Task.detached { () async throws -> ([Int64], Duration) in
    var random = Random(state: 42)
    for _ in 0..<10_000 { _ = try await service.get(populationKey(random.below(shadowCount))) }  // warm up
    var latencies: [Int64] = []
    latencies.reserveCapacity(gets)
    let start = clock.now
    for _ in 0..<gets {
        let key = populationKey(random.below(shadowCount))
        let getStart = clock.now
        let document = try await service.get(key)
        latencies.append(nanoseconds(clock.now - getStart))
        precondition(document["version"] != nil, "a stored shadow is missing")
    }
    return (latencies, clock.now - start)
}.value
print(
    String(
        format: "gets: %d random gets of %d shadows, one caller: %.2f s, %.0f gets/s", gets, shadowCount,
        seconds(getElapsed), Double(gets) / seconds(getElapsed)))
print("  get latency: \(percentiles(getLatencies))")

let fileSize = (try? FileManager.default.attributesOfItem(atPath: directory + "/signalbox.sqlite")[.size] as? Int) ?? 0
print("database file: \(fileSize / 1_048_576) MiB")
try database.close()
