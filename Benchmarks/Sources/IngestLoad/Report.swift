import Foundation
import Histogram

/// The summary printed at the end of a run.
struct Report {
    let total: ConnectionResult
    let elapsed: Duration
    let batch: Int
    let openLoop: Bool
    let reloads: ReloadResult
    let reloadEvery: Double?
    let reloadGraceMs: Int
    let inFlight: InFlightSamples
    let idsOut: String?

    func print() {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let requests = Int(total.latency.totalCount)
        let statuses = total.statuses
        let other = statuses.filter { ![200, 429, 503].contains($0.key) }
        let otherText =
            other.isEmpty
            ? "0"
            : other.sorted { $0.key < $1.key }.map { "\($0.value)×\($0.key)" }
                .joined(separator: " ")
        let messageRate = Double(total.messagesAcknowledged) / seconds
        Swift.print("elapsed      \(Self.decimal(seconds, 2)) s")
        Swift.print(
            "messages     \(Self.grouped(total.messagesAcknowledged)) acknowledged, \(Self.grouped(Int(messageRate))) msg/s"
                + "; \(Self.grouped(total.messagesRefused)) refused (in non-200 replies)")
        Swift.print("requests     \(Self.grouped(requests)), \(Self.grouped(Int(Double(requests) / seconds))) req/s")
        Swift.print(
            "status       200: \(statuses[200] ?? 0)  429: \(statuses[429] ?? 0)  503: \(statuses[503] ?? 0)  "
                + "other: \(otherText)  transport errors: \(total.transportErrors)")
        Swift.print("latency ms   \(Self.percentiles(total.latency))   (request written → reply read)")
        if openLoop {
            Swift.print("scheduled ms \(Self.percentiles(total.scheduledLatency))   (scheduled send → reply read)")
            Swift.print("late sends   \(Self.grouped(total.lateSends)) requests left more than 1 ms after their slot")
        }
        if let reloadEvery {
            let count = reloads.statuses.values.reduce(0, +)
            let replies = reloads.statuses.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
                .joined(separator: ", ")
            Swift.print(
                "reloads      \(count) (every \(Self.decimal(reloadEvery, 1)) s; \(replies)), "
                    + "reload request p50 \(Self.milliseconds(reloads.latency.valueAtPercentile(50))) ms, "
                    + "max \(Self.milliseconds(reloads.latency.maxRecorded)) ms, transport errors \(reloads.transportErrors)"
            )
            let during = total.duringReload
            Swift.print(
                "reload stall worst request latency overlapping a reload (or within \(reloadGraceMs) ms after it): "
                    + (during.totalCount == 0
                        ? "none overlapped"
                        : "\(Self.milliseconds(during.maxRecorded)) ms over \(Self.grouped(Int(during.totalCount))) "
                            + "requests (their p99 \(Self.milliseconds(during.valueAtPercentile(99))) ms)"))
        }
        if !inFlight.values.isEmpty {
            let sorted = inFlight.values.sorted()
            let mean = Double(sorted.reduce(0, +)) / Double(sorted.count)
            let little = messageRate > 0 ? mean / messageRate * 1000 : 0
            Swift.print(
                "in flight    server's accepted-but-not-handled messages over \(sorted.count) samples: mean "
                    + "\(Self.decimal(mean, 1)), p50 \(sorted[sorted.count / 2]), max \(sorted.last ?? 0)"
                    + (inFlight.capacity.map { " (capacity \(Self.grouped($0)))" } ?? ""))
            Swift.print(
                "             mean time from journal to handled (Little's law, mean in flight ÷ msg/s): "
                    + "\(Self.decimal(little, 2)) ms")
        }
        var usage = rusage()
        #if canImport(Glibc)
            getrusage(RUSAGE_SELF.rawValue, &usage)  // Glibc imports the constant as an enum
        #else
            getrusage(RUSAGE_SELF, &usage)
        #endif
        let cpu =
            Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        Swift.print(
            "load cpu     \(Self.decimal(cpu, 1)) s of this process's CPU"
                + (requests > 0
                    ? ", \(Self.decimal(cpu / Double(max(1, total.messagesAcknowledged + total.messagesRefused)) * 1e6, 1)) µs per message sent"
                    : ""))
        if let idsOut { Swift.print("ids          written to \(idsOut)") }
    }

    static func percentiles(_ histogram: Histogram<UInt64>) -> String {
        guard histogram.totalCount > 0 else { return "no samples" }
        return [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99.9", 99.9)]
            .map { "\($0.0) \(milliseconds(histogram.valueAtPercentile($0.1)))" }.joined(separator: "  ")
            + "  max \(milliseconds(histogram.maxRecorded))"
    }

    /// Microseconds as milliseconds with 2 decimals.
    static func milliseconds(_ micros: UInt64) -> String { decimal(Double(micros) / 1000, 2) }

    static func decimal(_ value: Double, _ places: Int) -> String { String(format: "%.\(places)f", value) }

    /// `1234567` → `1,234,567`.
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (offset, character) in digits.enumerated() {
            if offset > 0 && (digits.count - offset) % 3 == 0 { result.append(",") }
            result.append(character)
        }
        return value < 0 ? "-" + result : result
    }
}
