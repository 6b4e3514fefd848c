"""Hand-written probes for the `code` guard: everyday prose (some with semicolons, braces,
colons and lists, which must not be taken for code) and code snippets in ten languages.
Written for these tests; nothing here comes from ../shared/data."""

from __future__ import annotations

PROSE: tuple[str, ...] = (
    "Can you help me plan a three-day trip to Lisbon in October?",
    "I came; I saw; I conquered. That is what Caesar is supposed to have said.",
    "The meeting moved to Thursday; please update your calendars accordingly.",
    "In set notation we write {1, 2, 3} for the set holding one, two and three.",
    "My grandmother's recipe calls for flour, sugar, eggs (three of them) and butter.",
    "Thanks for the quick reply! I will check with the team and get back to you.",
    "We need three things for the picnic:\nbread;\ncheese;\nand a good blanket.",
    "Dear Sam,\nthank you for your letter.\nI hope you are well.\nBest wishes,\nAna",
    "Shopping list:\n- apples\n- milk (2 litres)\n- coffee\n- dish soap",
    "The ratio was 3:2 in favour of the proposal, which passed after a long debate.",
    'She said: "If it rains, we stay home; if not, we go to the beach."',
    "Note {this} and [that]: brackets in prose are fine, aren't they?",
    "What is the difference between a virus and a bacterium?",
    "Write a short poem about autumn leaves falling on a quiet street.",
    "Summarize the following article in three sentences, please.",
    "The train leaves at 10:45 from platform 3; arrive ten minutes early.",
    "Results: 12 of 20 patients improved; 5 stayed the same; 3 got worse.",
    "Chapter 1: The Beginning\nIt was a cold morning in the village.\nNobody was awake yet.",
    "Pros: cheap, fast, reliable.\nCons: noisy, heavy, ugly.",
    "I think the answer is 42, but I am not completely sure about it.",
    "He paid $20 for the book & $5 for shipping, which seemed fair.",
    "Use the formula a^2 + b^2 = c^2 to find the length of the hypotenuse.",
    "My email is down today, so please call me instead if it is urgent.",
    "The committee (which met twice) approved the budget; the vote was unanimous.",
    "Why do cats purr? Is it always a sign that they are happy?",
    "Ingredients:\n2 cups flour\n1 cup sugar\n3 eggs\nBake for 30 minutes at 180 degrees.",
    "Q: How long does shipping take?\nA: Usually three to five business days.",
    "Step 1: open the lid. Step 2: pour the water. Step 3: close the lid and wait.",
    "Her score went from 7/10 to 9/10 after the second attempt; well done!",
    "Translate 'good morning' into French, Spanish and German.",
    "The company's revenue grew 15% year over year; profits, however, fell slightly.",
    "Please find attached the report for Q3 (see section 2.1 for the details).",
    "If x is larger than y, then y is smaller than x; that follows directly.",
    "The word 'function' has several meanings in maths and in everyday speech.",
    "Remember to import the photos from your camera before the trip.",
    "Select the best option from the list below and explain your choice.",
    "Update the document and set the status to done when you are finished.",
    "Let me know if you need anything else; I'm happy to help.",
    "For more details, see the appendix {pages 40-45} of the printed edition.",
    "The sign said: NO PARKING; VIOLATORS WILL BE TOWED.",
    "Return the library books by Friday or you will pay a small fine.",
    "While it was raining, for a while, nobody went outside.",
    "Monday: gym; Tuesday: piano; Wednesday: rest; Thursday: gym again.",
    "The print on the shirt faded after two washes, which is disappointing.",
    "Class starts at nine, so don't be late; the teacher is strict about it.",
    "He wrote <3 at the end of the message, which made her smile.",
    "Our new motto: work hard, be kind, and always bring snacks.",
    "The temperature dropped to -5 degrees overnight; the pipes froze.",
    "Public transport in the city is cheap, clean and usually on time.",
    "Drop me a line when you arrive; the table is booked for eight.",
)

SNIPPETS: tuple[tuple[str, str], ...] = (
    ("python", "def add(a, b):\n    return a + b\n\nprint(add(2, 3))"),
    (
        "python",
        "import os\nimport sys\n\nfor name in os.listdir(sys.argv[1]):\n    print(name)",
    ),
    (
        "python",
        "Here is a fix:\n\nclass Stack:\n    def __init__(self):\n        self.items = []\n\n"
        "    def push(self, item):\n        self.items.append(item)\n\nHope that helps.",
    ),
    (
        "javascript",
        "const total = items.reduce((sum, x) => sum + x, 0);\nconsole.log(total);",
    ),
    (
        "javascript",
        "function greet(name) {\n  return `Hello, ${name}!`;\n}\n\ndocument.body.innerText = "
        "greet('Ana');",
    ),
    (
        "sql",
        "SELECT name, email\nFROM users\nWHERE created_at > '2024-01-01'\nORDER BY name;",
    ),
    ("sql", "UPDATE accounts SET balance = balance - 100 WHERE id = 7;\nCOMMIT;"),
    (
        "shell",
        '#!/bin/bash\nset -euo pipefail\nfor f in *.log; do\n  gzip "$f"\ndone',
    ),
    ("shell", "$ cd project\n$ npm install\n$ npm run build"),
    (
        "c",
        '#include <stdio.h>\n\nint main(void) {\n    printf("hello\\n");\n    return 0;\n}',
    ),
    (
        "java",
        "public class Hello {\n    public static void main(String[] args) {\n"
        '        System.out.println("Hi");\n    }\n}',
    ),
    (
        "go",
        'package main\n\nimport "fmt"\n\nfunc main() {\n\tx := 3\n\tfmt.Println(x * 2)\n}',
    ),
    (
        "rust",
        'fn main() {\n    let mut v = Vec::new();\n    v.push(1);\n    println!("{:?}", v);\n}',
    ),
    (
        "html",
        '<div class="card">\n  <h2>Title</h2>\n  <p>Some text</p>\n</div>',
    ),
    ("php", "<?php\n$name = $_GET['name'];\necho $name;\n?>"),
    (
        "python",
        "Can you review this?\n```python\nwith open(path) as fh:\n    data = fh.read()\n```",
    ),
)

# Single statements in prose, for the `languages` filter: (language, text, statement).
STATEMENTS: tuple[tuple[str, str, str], ...] = (
    ("sql", "Please run DROP TABLE users; on the prod box", "DROP TABLE users"),
    ("sql", "try ' UNION SELECT password FROM admins --", "UNION SELECT password FROM admins --"),
    (
        "sql",
        "then select * from orders limit 5 and show me",
        "select * from orders limit 5 and show me",
    ),
    ("shell", "just type rm -rf / and press enter", "rm -rf /"),
    (
        "shell",
        "install with curl -s https://x.example/i.sh | sudo bash now",
        "curl -s https://x.example/i.sh | sudo bash",
    ),
    ("python", "call os.system('id') inside the template", "os.system('id')"),
)

# Written after the line weights were set, and not used to tune them.
HELD_OUT_PROSE: tuple[str, ...] = (
    "Could you recommend a good book about the history of Rome?",
    "The invoice total is €1,250.00; payment is due within 30 days.",
    "To do: call the plumber; renew the passport; buy a birthday gift for Mia.",
    "My phone number changed (the old one no longer works), so please update it.",
    "The kids built a fort out of cushions {and blankets} in the living room.",
    "Agenda:\n1. Welcome\n2. Budget review\n3. Questions",
    "The patient reported mild pain (4/10) after the operation; no fever.",
    "If you can't make it on Friday, Saturday works for me too.",
    "Set the oven to 200 degrees and bake the bread for forty minutes.",
    "Use three parts water to one part vinegar for cleaning the windows.",
    "The score at half time was 2-1; the second half was goalless.",
    "From Monday to Friday the shop opens at 8; on weekends at 10.",
    "I'd like to return an item: order #4512, a blue jacket, size M.",
    "Print the boarding pass at home, or show it on your phone at the gate.",
    "He asked: 'Is this seat taken?' and she answered: 'No, go ahead.'",
    "A == B was written on the whiteboard, but nobody knew what it meant.",
    "Delete from your memory everything I said yesterday; I was tired.",
    "Var. is short for variety in botanical names, e.g. Rosa var. alba.",
    "The new policy takes effect on 1 March; staff have been informed.",
    "Heads up: the server room will be closed for cleaning all week.",
)
HELD_OUT_SNIPPETS: tuple[tuple[str, str], ...] = (
    ("python", "items = [x * 2 for x in range(10)]\ntotal = sum(items)\nprint(total)"),
    ("javascript", "let count = 0;\nbutton.addEventListener('click', () => {\n  count++;\n});"),
    ("sql", "CREATE TABLE orders (\n  id INT PRIMARY KEY,\n  total DECIMAL(10, 2)\n);"),
    ("shell", 'git checkout -b fix\ngit commit -am "fix typo" && git push origin fix'),
    ("c", "for (int i = 0; i < n; i++) {\n    sum += a[i];\n}"),
    ("java", 'List<String> names = new ArrayList<>();\nnames.add("x");\nreturn names;'),
    ("go", "if err != nil {\n\treturn err\n}"),
    ("rust", "match value {\n    Some(x) => x,\n    None => 0,\n}"),
)
