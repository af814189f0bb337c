"""The fenced blocks of README.md and of the notebooks' markdown cells, as tests/test_readme.py
sees them: where each is, its key, its command lines (bash) and the comments of its statements
(Python)."""

import ast
import dataclasses
import io
import json
import pathlib
import re
import tokenize

REPO = pathlib.Path(__file__).resolve().parents[2]
DOCUMENTS = ("README.md", "notebooks/*.ipynb")

_FENCE = re.compile(r"^```(?P<lang>[\w+-]*)\s*$")
_HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*$")


@dataclasses.dataclass(frozen=True)
class Block:
  file: str      # "README.md" or "notebooks/<name>.ipynb"
  section: str   # the heading above the block, as written
  lang: str      # "bash", "python" or "" (a fence without a language)
  text: str      # the block's lines, each ending with "\n"

  @property
  def first_line(self) -> str:
    return self.text.splitlines()[0].rstrip() if self.text.strip() else ""

  @property
  def label(self) -> str:
    """The block's first line that says what it does: in code, the first line that is not an
    import or a comment, without its comment (imports and comments change more often than what
    a block is about); in other fences, the first line."""
    if self.lang == "python":
      codes = code_lines(self.text)
    elif self.lang == "bash":
      codes = [re.sub(r"(^|\s+)#.*$", "", line).rstrip("\\") for line in self.text.splitlines()]
    else:
      return self.first_line
    for code in codes:
      if code.strip() and not re.match(r"(import|from)\s", code.strip()):
        return code.strip()
    return self.first_line

  occurrence: int = 1  # the n-th block of its file with this section and label

  @property
  def key(self):
    """(file, section, label), the label followed by " #n" for the n-th block of one file with
    the same section and label."""
    suffix = f" #{self.occurrence}" if self.occurrence > 1 else ""
    return (self.file, self.section, self.label + suffix)


def markdown_of(relative: str) -> str:
  """The markdown of one document: README.md's text, or a notebook's markdown cells in order
  (code cells are executed by tests/test_notebooks.py)."""
  path = REPO / relative
  if path.suffix != ".ipynb":
    return path.read_text()
  cells = json.loads(path.read_text())["cells"]
  return "\n\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")


def blocks_of(relative: str, markdown: str = None) -> list:
  """Every fenced block of a document, in order. A fence is three backticks at the start of a
  line, with an optional language; the block ends at the next line of three backticks."""
  markdown = markdown_of(relative) if markdown is None else markdown
  found, section, lang, lines = [], "", None, []
  for line in markdown.splitlines(keepends=True):
    if lang is None:
      fence, heading = _FENCE.match(line), _HEADING.match(line)
      if fence:
        lang, lines = fence["lang"], []
      elif heading:
        section = heading["title"]
    elif line.rstrip() == "```":
      found.append(Block(relative, section, lang, "".join(lines)))
      lang = None
    else:
      lines.append(line)
  if lang is not None:
    raise ValueError(f"{relative}: a fenced block in {section!r} is never closed")
  seen = {}
  for i, block in enumerate(found):
    n = seen[block.section, block.label] = seen.get((block.section, block.label), 0) + 1
    found[i] = dataclasses.replace(block, occurrence=n)
  return found


def all_blocks() -> list:
  paths = []
  for pattern in DOCUMENTS:
    paths += sorted(str(p.relative_to(REPO)) for p in REPO.glob(pattern))
  return [block for path in paths for block in blocks_of(path)]


def command_lines(text: str) -> list:
  """A bash block's command lines: lines joined across backslash continuations (the backslash
  and newline removed, as bash does), blank lines and comment-only lines left out."""
  joined = re.sub(r"\\\n", "", text)
  return [line.strip() for line in joined.splitlines()
          if line.strip() and not line.strip().startswith("#")]


def comments_by_line(source: str) -> dict:
  """line number -> the text of the comment on that line (without `#` and surrounding spaces)."""
  comments = {}
  for token in tokenize.generate_tokens(io.StringIO(source).readline):
    if token.type == tokenize.COMMENT:
      comments[token.start[0]] = token.string[1:].strip()
  return comments


def code_lines(source: str) -> list:
  """Each line of Python source without its comment (a `#` in a string is kept)."""
  lines = source.splitlines()
  for token in tokenize.generate_tokens(io.StringIO(source).readline):
    if token.type == tokenize.COMMENT:
      row, column = token.start
      lines[row - 1] = lines[row - 1][:column]
  return [line.rstrip() for line in lines]


def statements(source: str) -> list:
  """Each top-level statement as (first line, last line, prints, comments): `comments` are the
  comments on its lines and, when its last line has one, on the comment-only lines right after
  it (a printed value's following lines, aligned under the first); `prints` says whether it
  calls print()."""
  tree = ast.parse(source)
  comments = comments_by_line(source)
  lines = source.splitlines()
  out = []
  for statement in tree.body:
    first, last = statement.lineno, statement.end_lineno
    texts = [comments[n] for n in range(first, last + 1) if n in comments]
    if last in comments:
      n = last + 1
      while n <= len(lines) and lines[n - 1].lstrip().startswith("#"):
        texts.append(comments[n])
        n += 1
    prints = any(isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                 and node.func.id == "print" for node in ast.walk(statement))
    out.append((first, last, prints, texts))
  return out
