import Testing

@testable import SignalboxSQL

struct TopicFilterTests {
    @Test(arguments: [
        ("a/b", "a/b", true), ("a/b", "a/c", false), ("a/+", "a/b", true), ("a/+", "a/e/f", false),
        ("a/+", "a", false), ("a/#", "a/b", true), ("a/#", "a/e/f", true), ("a/#", "a", true), ("a/#", "b/x", false),
        ("sensor/#", "sensor/", true), ("sensor/#", "Sensor", false), ("+/+", "a/b", true), ("+", "a", true),
        ("+", "/a", false), ("+/a", "/a", true), ("#", "a/b/c", true), ("#", "$aws/things/x/shadow/update", false),
        ("+/things/x", "$aws/things/x", false), ("$aws/things/+/shadow/#", "$aws/things/f1/shadow/update", true),
        ("a/+/c", "a//c", true), ("A/b", "a/b", false),
    ])
    func matching(_ filter: String, _ topic: String, _ expected: Bool) throws {
        let parsed = try TopicFilter(filter)
        #expect(parsed.matches(topic) == expected)
        var trie = TopicTrie<Int>()
        trie.insert(parsed, 1)
        #expect(trie.matches(topic) == (expected ? [1] : []))
    }

    @Test(arguments: [
        ("", "the topic filter is empty"),
        ("a/#/b", "'#' must be the last level of a topic filter"),
        ("a/b#", "a wildcard ('+' or '#') must occupy a whole topic level"),
        ("a+/b", "a wildcard ('+' or '#') must occupy a whole topic level"),
        ("1/2/3/4/5/6/7/8/9", "the topic filter has more than 8 levels"),
        (String(repeating: "x", count: 257), "the topic filter is longer than 256 bytes"),
    ])
    func invalidFilters(_ filter: String, _ message: String) {
        #expect(throws: TopicFilter.Invalid.self) { try TopicFilter(filter) }
        do {
            _ = try TopicFilter(filter)
        } catch {
            #expect(error.message == message)
        }
    }

    @Test func trieReturnsEveryMatchInInsertionOrder() throws {
        var trie = TopicTrie<String>()
        for (i, filter) in ["a/b/c", "a/+/c", "#", "a/#", "a/b/+", "x/y", "+/+/+", "a/b/c/#"].enumerated() {
            trie.insert(try TopicFilter(filter), "\(i):\(filter)")
        }
        #expect(
            trie.matches("a/b/c") == ["0:a/b/c", "1:a/+/c", "2:#", "3:a/#", "4:a/b/+", "6:+/+/+", "7:a/b/c/#"])
        #expect(trie.matches("x/y") == ["2:#", "5:x/y"])
        #expect(trie.matches("$SYS/x/y").isEmpty)
    }

    @Test func trieCopiesOnWrite() throws {
        var first = TopicTrie<Int>()
        first.insert(try TopicFilter("a/b"), 1)
        var second = first
        second.insert(try TopicFilter("a/b"), 2)
        #expect(first.matches("a/b") == [1])
        #expect(second.matches("a/b") == [1, 2])
    }

    @Test(
        arguments: [
            ("a/b", nil), ("", "the topic is empty"),
            ("a/+/b", "the topic contains a wildcard ('+' or '#'); publish to a concrete topic"),
            ("1/2/3/4/5/6/7/8/9", "the topic has more than 8 levels"),
            ("$aws/things/t/shadow/name/n/update/accepted", nil),
        ] as [(String, String?)])
    func topicNames(_ topic: String, _ message: String?) {
        do {
            try TopicName.validate(topic)
            #expect(message == nil)
        } catch {
            #expect(error.message == message)
        }
    }
}

struct TemplateTests {
    func render(_ template: String, sql: String = "SET @v = temp * 2 SELECT * FROM 'devices/+/t'", payload: String)
        throws -> String
    {
        let statement = try Statement(sql)
        let message = Message(topic: "devices/f1/t", payload: Array(payload.utf8), timestamp: 1000)
        let evaluation = try statement.evaluate(message)
        return try statement.template(template).render(in: evaluation.frame)
    }

    @Test(arguments: [
        ("Fridge ${topic(2)} is at ${temp} C", "Fridge f1 is at 4.5 C"),
        ("${topic()}/republish", "devices/f1/t/republish"),
        ("no substitutions", "no substitutions"),
        ("${@v}", "9.0"),
        ("${name}|${missing}|${n}|${flag}|${obj}|${arr}", #"fridge|||true|{"a":"b"}|[1,"x"]"#),
        ("${nul}", "null"),
        ("${get({'a': 1}, 'a')}", "1"),
        ("${upper(name) + '!'}", "FRIDGE!"),
        ("$notatemplate {x}", "$notatemplate {x}"),
        ("${'}'}", "}"),
    ])
    func rendering(_ template: String, _ expected: String) throws {
        let payload = #"{"temp":4.5,"name":"fridge","flag":true,"obj":{"a":"b"},"arr":[1,"x"],"nul":null}"#
        #expect(try render(template, payload: payload) == expected)
    }

    @Test func templatesCannotSeeSelectAliases() throws {
        let statement = try Statement("SELECT temp AS t FROM 'x'")
        let frame = try statement.evaluate(Message(topic: "x", payload: Array(#"{"temp":1}"#.utf8), timestamp: 0)).frame
        #expect(try statement.template("${t}|${temp}").render(in: frame) == "|1")
    }

    @Test(arguments: [
        ("${", "unterminated '${' in substitution template"),
        ("a ${ } b", "empty expression in substitution template"),
        ("${avrg(1)}", "unknown function 'avrg'"),
        ("${@nope}", "unknown variable '@nope'"),
        ("${1 +}", "expected an expression, found end of input"),
    ])
    func invalidTemplates(_ template: String, _ message: String) throws {
        let statement = try Statement("SELECT * FROM 'x'")
        do {
            _ = try statement.template(template)
            Issue.record("expected an error")
        } catch {
            #expect(error.diagnostics.first?.message == message)
        }
    }
}
