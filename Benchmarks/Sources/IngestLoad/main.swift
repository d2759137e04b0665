// Load for Signalbox's ingest endpoints: fridge telemetry from one gateway over N HTTP/1.1
// keep-alive connections, open loop (--rate) or closed loop, single publishes or gateway batches.
// Prints messages/s, requests/s, status counts and latency percentiles; optionally writes the
// acknowledged message ids, reloads the rules periodically, and samples the server's in-flight count.
//
//     bash tools/load.sh --url http://127.0.0.1:8080 --token "$GATEWAY_TOKEN" --gateway gw-01 \
//         --batch 1000 --connections 4 --duration 30
//
// See docs/benchmarks.md ("Runtime: ingest → journal → rules → persist") for the measurements.

import ArgumentParser
import Foundation
import Histogram
import NIOCore
import NIOHTTP1
import NIOPosix

struct IngestLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest-load",
        abstract: "Post fridge telemetry to a running signalbox server and report throughput and latency.",
        discussion: """
            Topics are gateways/GATEWAY/devices/f{i}/telemetry, i < --devices; each connection reports for \
            every --connections-th fridge, so each fridge's "seq" only grows. With --batch 1 each request is \
            POST /topics/{topic}; with a larger batch, POST /gateways/GATEWAY/messages. With --rate, requests \
            follow a fixed schedule (open loop) and latency is also reported from the scheduled time; \
            without it each connection sends its next request when the previous reply is in. A failed \
            connection is counted and reopened, so the server may be restarted during a run.

            --ids-out writes one line per acknowledged request: the first message id and the number of \
            messages (1 for single publishes), tab-separated; every id from first to first+count-1 was \
            journaled. The acknowledged total is also the number of rows a one-persist-rule setup must \
            end up with.
            """)

    @Option(help: "The server's base URL.")
    var url: String = "http://127.0.0.1:8080"

    @Option(help: "Bearer token (ID.SECRET): a gateway token or an admin token.")
    var token: String

    @Option(help: "Admin token for --reload-every and --sample-in-flight (default: --token).")
    var adminToken: String?

    @Option(help: "The gateway in topics and in the batch endpoint.")
    var gateway: String = "gw-01"

    @Option(help: "Keep-alive connections.")
    var connections: Int = 8

    @Option(help: "Messages per second over all connections, open loop; 0 sends as fast as replies allow.")
    var rate: Double = 0

    @Option(help: "Fridges (f0 … f{N-1}).")
    var devices: Int = 1_000

    @Option(help: "Messages per request: 1 posts to /topics/{topic}, more to the batch endpoint (≤ 1000).")
    var batch: Int = 1

    @Option(help: "Seconds to send for.")
    var duration: Double = 10

    @Option(help: "Approximate payload size in bytes (at least about 105).")
    var payloadBytes: Int = 128

    @Option(help: "Write acknowledged message ids here: 'FIRST_ID<TAB>COUNT' per acknowledged request.")
    var idsOut: String?

    @Option(help: "POST /admin/rules/reload every this many seconds and report the worst latency around reloads.")
    var reloadEvery: Double?

    @Option(help: "Milliseconds after a reload's reply during which requests still count as 'during reload'.")
    var reloadGraceMs: Int = 200

    @Option(help: "Poll GET /admin/rules every this many milliseconds and report the server's in-flight messages.")
    var sampleInFlight: Int?

    @Option(help: "Event-loop threads of the load generator.")
    var threads: Int = 1

    @Option(help: "Seed of the readings' randomness.")
    var seed: UInt64 = 1

    @Flag(inversion: .prefixedNo, help: "Print a progress line every second (to standard error).")
    var progress = true

    func validate() throws {
        guard connections > 0, devices > 0, threads > 0 else {
            throw ValidationError("--connections, --devices and --threads must be positive")
        }
        guard (1...1_000).contains(batch) else { throw ValidationError("--batch must be between 1 and 1000") }
        guard rate >= 0, duration > 0 else { throw ValidationError("--rate must be ≥ 0 and --duration > 0") }
        if let reloadEvery, reloadEvery <= 0 { throw ValidationError("--reload-every must be positive") }
        guard let parsed = URL(string: url), parsed.host != nil else { throw ValidationError("--url: not a URL") }
        if parsed.scheme == "https" { throw ValidationError("--url: https is not supported, use http") }
    }

    mutating func run() async throws {
        let parsed = URL(string: url)!  // validated in validate()
        let clock = ContinuousClock()
        let start = clock.now
        let interval: Duration? =
            rate > 0 ? .seconds(Double(connections) * Double(batch) / rate) : nil
        let target = Target(
            host: parsed.host ?? "127.0.0.1", port: parsed.port ?? 80, token: token, gateway: gateway, batch: batch,
            payloadBytes: payloadBytes, interval: interval, end: start + .seconds(duration))
        let admin = {
            var admin = target
            admin.token = adminToken ?? token
            return admin
        }()

        var idsFile: FileHandle?
        if let idsOut {
            guard FileManager.default.createFile(atPath: idsOut, contents: nil),
                let handle = FileHandle(forWritingAtPath: idsOut)
            else { throw ValidationError("--ids-out: cannot create '\(idsOut)'") }
            idsFile = handle
        }
        let live = LiveCounters(
            reloading: reloadEvery != nil, reloadGrace: .milliseconds(reloadGraceMs), idsFile: idsFile)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)

        let endpoint = batch == 1 ? "POST /topics/{topic}" : "POST /gateways/\(gateway)/messages"
        let pacing = rate > 0 ? "open loop at \(Report.grouped(Int(rate))) msg/s" : "closed loop"
        print(
            "ingest-load: \(endpoint), batch \(batch), \(connections) connections, \(pacing), "
                + "\(devices) fridges, ~\(payloadBytes)-byte payloads, \(Report.decimal(duration, 0)) s")
        fflush(nil)  // every stream: the header should come before the progress lines

        // The tasks below capture these copies, not the mutating `self`.
        let (connections, devices, seed, showProgress) = (self.connections, self.devices, self.seed, self.progress)
        var total = ConnectionResult()
        var reloads = ReloadResult()
        var inFlight = InFlightSamples()
        await withTaskGroup(of: Outcome.self) { tasks in
            for index in 0..<connections {
                tasks.addTask {
                    .connection(
                        await runConnection(
                            index, of: connections, devices: devices, target: target, live: live, group: group,
                            seed: seed))
                }
            }
            if let reloadEvery {
                tasks.addTask {
                    .reloads(await runReloads(every: reloadEvery, target: admin, live: live, group: group))
                }
            }
            if let sampleInFlight {
                tasks.addTask {
                    .inFlight(await sampleInFlightCount(every: sampleInFlight, target: admin, group: group))
                }
            }
            tasks.addTask {
                await reportProgress(live: live, start: start, until: target.end, show: showProgress)
                return .progress
            }
            var remaining = connections
            while let outcome = await tasks.next() {
                switch outcome {
                case .connection(let result):
                    total.merge(result)
                    remaining -= 1
                    if remaining == 0 { tasks.cancelAll() }
                case .reloads(let result): reloads = result
                case .inFlight(let samples): inFlight = samples
                case .progress: break
                }
            }
        }
        let elapsed = clock.now - start
        live.flushIDs()
        try? idsFile?.close()
        try? await group.shutdownGracefully()

        Report(
            total: total, elapsed: elapsed, batch: batch, openLoop: interval != nil, reloads: reloads,
            reloadEvery: reloadEvery, reloadGraceMs: reloadGraceMs, inFlight: inFlight, idsOut: idsOut
        ).print()
    }
}

/// What a task of the run hands back.
enum Outcome: Sendable {
    case connection(ConnectionResult)
    case reloads(ReloadResult)
    case inFlight(InFlightSamples)
    case progress
}

/// Prints one line a second: messages and requests acknowledged in that second, statuses, the slowest
/// request; writes the ids file as it goes.
func reportProgress(live: LiveCounters, start: ContinuousClock.Instant, until end: ContinuousClock.Instant, show: Bool)
    async
{
    var last = (messages: 0, requests: 0, ok: 0, throttled: 0, unavailable: 0, other: 0, errors: 0)
    var second = 0
    while !Task.isCancelled {
        second += 1
        do {
            try await Task.sleep(until: start + .seconds(second), clock: .continuous)
        } catch {
            return
        }
        live.flushIDs()
        let now = (
            messages: live.messages.load(ordering: .relaxed), requests: live.requests.load(ordering: .relaxed),
            ok: live.ok.load(ordering: .relaxed), throttled: live.throttled.load(ordering: .relaxed),
            unavailable: live.unavailable.load(ordering: .relaxed), other: live.other.load(ordering: .relaxed),
            errors: live.transportErrors.load(ordering: .relaxed)
        )
        let slowest = live.slowest.exchange(0, ordering: .relaxed)
        if show {
            let line =
                "[\(String(format: "%4d", second))s] \(Report.grouped(now.messages - last.messages)) msg/s, "
                + "\(Report.grouped(now.requests - last.requests)) req/s, 200: \(now.ok - last.ok), "
                + "429: \(now.throttled - last.throttled), 503: \(now.unavailable - last.unavailable), "
                + "other: \(now.other - last.other), errors: \(now.errors - last.errors), "
                + "slowest \(Report.milliseconds(slowest)) ms\n"
            FileHandle.standardError.write(Data(line.utf8))
        }
        last = now
    }
}

/// The rules reloads of a run.
struct ReloadResult: Sendable {
    var statuses: [Int: Int] = [:]
    var latency = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
    var transportErrors = 0
}

/// POSTs /admin/rules/reload every `seconds` until cancelled, on its own connection.
func runReloads(every seconds: Double, target: Target, live: LiveCounters, group: MultiThreadedEventLoopGroup) async
    -> ReloadResult
{
    var result = ReloadResult()
    let clock = ContinuousClock()
    var next = clock.now + .seconds(seconds)
    while !Task.isCancelled, next < target.end {
        do {
            let channel = try await connect(target, group: group)
            try await channel.executeThenClose { inbound, outbound in
                var responses = inbound.makeAsyncIterator()
                while next < target.end {
                    try await Task.sleep(until: next, clock: clock)
                    var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/admin/rules/reload")
                    head.headers.add(name: "host", value: "\(target.host):\(target.port)")
                    head.headers.add(name: "authorization", value: "Bearer \(target.token)")
                    head.headers.add(name: "content-length", value: "0")
                    let sent = clock.now
                    live.reloadStarted(at: sent)
                    let reply = try await exchange(
                        [.head(head), .end(nil)], keepBody: false, outbound: outbound, responses: &responses)
                    let done = clock.now
                    live.reloadFinished(at: done)
                    result.latency.record(microseconds(done - sent))
                    result.statuses[reply.status, default: 0] += 1
                    next += .seconds(seconds)
                }
            }
        } catch is CancellationError {
            break
        } catch {
            if Task.isCancelled { break }
            result.transportErrors += 1
            live.reloadFinished(at: clock.now)
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
    return result
}

/// The server's in-flight message count (`in_flight.count` of GET /admin/rules), sampled.
struct InFlightSamples: Sendable {
    var values: [Int] = []
    var capacity: Int?
}

/// Polls GET /admin/rules every `milliseconds` until cancelled.
func sampleInFlightCount(every milliseconds: Int, target: Target, group: MultiThreadedEventLoopGroup) async
    -> InFlightSamples
{
    var samples = InFlightSamples()
    let clock = ContinuousClock()
    do {
        let channel = try await connect(target, group: group)
        try await channel.executeThenClose { inbound, outbound in
            var responses = inbound.makeAsyncIterator()
            while !Task.isCancelled, clock.now < target.end {
                try await Task.sleep(for: .milliseconds(milliseconds))
                var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/admin/rules")
                head.headers.add(name: "host", value: "\(target.host):\(target.port)")
                head.headers.add(name: "authorization", value: "Bearer \(target.token)")
                let reply = try await exchange(
                    [.head(head), .end(nil)], keepBody: true, outbound: outbound, responses: &responses)
                guard reply.status == 200,
                    let object = try? JSONSerialization.jsonObject(with: Data(reply.body.readableBytesView))
                        as? [String: Any],
                    let inFlight = object["in_flight"] as? [String: Any],
                    let count = (inFlight["count"] as? NSNumber)?.intValue
                else { continue }
                samples.values.append(count)
                samples.capacity = (inFlight["capacity"] as? NSNumber)?.intValue
            }
        }
    } catch {}
    return samples
}

// At top level a plain `await IngestLoad.main()` resolves to ParsableCommand's synchronous
// `main()`, which prints the help instead of running; inside an async function the async one wins.
func start() async { await IngestLoad.main() }
await start()
