import BenchmarkFixtures
import Foundation
import SignalboxJSON
import SignalboxSQL

// A plain ContinuousClock runner for the same workloads as the package-benchmark suite: quick
// numbers without the plugin, and a small binary to run under `valgrind --tool=callgrind`.
//
//     swift run -c release --package-path Benchmarks measure [workload …] [--seconds N]
//
// Workloads: json-parse, json-parse-foundation, json-serialize, json-serialize-foundation,
// rules-10, rules-1000, rules-10-distinct, rules-1000-distinct — all when none is named.

/// Keeps the optimizer from deleting work whose result is unused.
@inline(never)
func consume<T>(_ value: T) {
    withExtendedLifetime(value) {}
}

struct Workload {
    var name: String
    /// Runs the operation `count` times.
    var run: (Int) throws -> Void
}

let publications = Fixtures.publications(count: 4_096)
let services = EvaluationServices(now: { 1_732_200_000_123 }, uuid: { "uuid" }, random: { 0.5 })
let bytes = Fixtures.telemetryBytes
let data = Data(bytes)
let value = try JSONParser.parse(bytes)
let object = try JSONSerialization.jsonObject(with: data)

let distinctPublications = Fixtures.distinctPublications(count: 4_096)
let thousandDistinctPublications = Fixtures.distinctPublications(count: 4_096, kinds: 1_000)

func rules(_ engine: RuleEngine, _ publications: [Fixtures.Publication] = publications) -> (Int) throws -> Void {
    var next = 0
    return { count in
        for _ in 0..<count {
            consume(try engine.process(publications[next], services: services))
            next = (next + 1) & (publications.count - 1)
        }
    }
}

let engine10 = try RuleEngine(rules: Fixtures.tenRules)
let engine1000 = try RuleEngine(rules: Fixtures.thousandRules)
let engine10Distinct = try RuleEngine(rules: Fixtures.tenDistinctRules)
let engine1000Distinct = try RuleEngine(rules: Fixtures.thousandDistinctRules)

let workloads: [Workload] = [
    Workload(name: "json-parse") { n in for _ in 0..<n { consume(try JSONParser.parse(bytes)) } },
    Workload(name: "json-parse-foundation") { n in
        for _ in 0..<n { consume(try JSONSerialization.jsonObject(with: data)) }
    },
    Workload(name: "json-serialize") { n in for _ in 0..<n { consume(JSONSerializer.bytes(value)) } },
    Workload(name: "json-serialize-foundation") { n in
        for _ in 0..<n { consume(try JSONSerialization.data(withJSONObject: object)) }
    },
    Workload(name: "rules-10", run: rules(engine10)),
    Workload(name: "rules-1000", run: rules(engine1000)),
    Workload(name: "rules-10-distinct", run: rules(engine10Distinct, distinctPublications)),
    Workload(name: "rules-1000-distinct", run: rules(engine1000Distinct, thousandDistinctPublications)),
]

var arguments = Array(CommandLine.arguments.dropFirst())
var seconds = 2.0
var fixedCount: Int?
if let i = arguments.firstIndex(of: "--seconds"), i + 1 < arguments.count {
    seconds = Double(arguments[i + 1]) ?? seconds
    arguments.removeSubrange(i...(i + 1))
}
if let i = arguments.firstIndex(of: "--count"), i + 1 < arguments.count {
    // A fixed number of operations and no timing loop: for callgrind.
    fixedCount = Int(arguments[i + 1])
    arguments.removeSubrange(i...(i + 1))
}
let selected = arguments.isEmpty ? workloads : workloads.filter { arguments.contains($0.name) }

if let fixedCount {
    for workload in selected { try workload.run(fixedCount) }
    exit(0)
}

// How many rules each message reaches, for the report. The engine (trie + one shared frame) must
// agree with the naive path: every rule's filter tested, a fresh frame per rule.
for (name, engine, publications) in [
    ("10 rules", engine10, publications), ("1,000 rules", engine1000, publications),
    ("10 rules on distinct topics", engine10Distinct, distinctPublications),
    ("1,000 rules on distinct topics", engine1000Distinct, thousandDistinctPublications),
] {
    var candidates = 0
    var matched = 0
    for publication in publications {
        candidates += engine.trie.matches(publication.topic).count
        let count = try engine.process(publication, services: services)
        matched += count
        let message = Message(topic: publication.topic, payload: publication.payload, timestamp: 1_732_200_000_123)
        var naive = 0
        for statement in engine.statements where statement.topicFilter.matches(publication.topic) {
            if try statement.evaluate(message, services: services).output != nil { naive += 1 }
        }
        if naive != count {
            print("error: the engine disagrees with naive evaluation on \(publication.topic)")
            exit(1)
        }
    }
    let perMessage = { (n: Int) in String(format: "%.2f", Double(n) / Double(publications.count)) }
    print("\(name): \(perMessage(candidates)) candidate rules and \(perMessage(matched)) matches per message")
}
print(
    "payload: \(bytes.count) bytes; messages average \(publications.map(\.payload.count).reduce(0, +) / publications.count) bytes"
)
print("")
print("workload                           ns/op        ops/s")
let clock = ContinuousClock()
for workload in selected {
    try workload.run(1_000)  // warm up
    var operations = 0
    var batch = 1_000
    let start = clock.now
    var elapsed = Duration.zero
    while elapsed < .seconds(seconds) {
        try workload.run(batch)
        operations += batch
        elapsed = clock.now - start
        if elapsed < .milliseconds(100) { batch *= 2 }
    }
    let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
    let perOperation = nanoseconds / Double(operations)
    print(
        workload.name.padding(toLength: 30, withPad: " ", startingAt: 0)
            + String(format: "%10.1f %12.0f", perOperation, 1e9 / perOperation))
}
