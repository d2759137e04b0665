import Benchmark
import BenchmarkFixtures
import Foundation
import SignalboxJSON
import SignalboxSQL

/// Benchmarks of the hot path: JSON parsing, serialization and rule evaluation.
///
/// Throughput is reported per inner iteration (one document or one message), so the
/// `Throughput (# / s)` column of a `.kilo` benchmark reads as documents or messages per second.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal, .instructions],
        timeUnits: .nanoseconds,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )

    // MARK: JSON

    let bytes = Fixtures.telemetryBytes
    let data = Data(bytes)

    Benchmark("JSON parse 209 B telemetry: SignalboxJSON") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try JSONParser.parse(bytes))
        }
    }

    Benchmark("JSON parse 209 B telemetry: Foundation JSONSerialization") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try JSONSerialization.jsonObject(with: data))
        }
    }

    let value = try! JSONParser.parse(bytes)  // a constant document that parses
    let object = try! JSONSerialization.jsonObject(with: data)  // the same document

    Benchmark("JSON serialize 209 B telemetry: SignalboxJSON") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(JSONSerializer.bytes(value))
        }
    }

    Benchmark("JSON serialize 209 B telemetry: Foundation JSONSerialization") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try JSONSerialization.data(withJSONObject: object))
        }
    }

    // MARK: Rules

    let publications = Fixtures.publications(count: 4_096)
    let services = EvaluationServices(now: { 1_732_200_000_123 }, uuid: { "uuid" }, random: { 0.5 })

    let distinctPublications = Fixtures.distinctPublications(count: 4_096)
    let thousandDistinctPublications = Fixtures.distinctPublications(count: 4_096, kinds: 1_000)
    for (name, rules, publications) in [
        ("10 rules", Fixtures.tenRules, publications), ("1,000 rules", Fixtures.thousandRules, publications),
        ("10 rules on distinct topics", Fixtures.tenDistinctRules, distinctPublications),
        ("1,000 rules on distinct topics", Fixtures.thousandDistinctRules, thousandDistinctPublications),
    ] {
        let engine = try! RuleEngine(rules: rules)  // the fixture rules compile
        Benchmark("Rule evaluation, \(name): parse + trie + WHERE + SELECT per message") { benchmark in
            var next = 0
            for _ in benchmark.scaledIterations {
                blackHole(try engine.process(publications[next], services: services))
                next = (next + 1) & (publications.count - 1)
            }
        }
    }
}
