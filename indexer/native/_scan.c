/* One pass over a py-tree-sitter tree: references grouped by name, and where definitions can start.
 *
 * The indexer's reference capture, `(identifier) @reference`, costs more through a tree-sitter
 * query and a Python loop than parsing does. This module walks the tree once with a
 * TSTreeCursor and collects the reference occurrences in C; in the same walk it notes the nodes
 * at which a pattern of the definitions/imports query can start, so that query need only be run
 * near the root (a max start depth) plus once under each deeper candidate.
 *
 * The tree-sitter runtime is compiled into this unit (build.py includes `lib.c` from the sdist of
 * the installed py-tree-sitter release): py-tree-sitter does not export it. Trees are only read.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wunused-variable"
#pragma GCC diagnostic ignored "-Wtype-limits"
#include "lib.c"
#pragma GCC diagnostic pop

#ifndef TS_VERSION
#error "build with -DTS_VERSION=\"<py-tree-sitter version>\""
#endif

/* py-tree-sitter's Tree and Query objects (tree_sitter/binding/types.h): the runtime's object
 * follows the header. */
typedef struct {
    PyObject_HEAD
    TSTree *tree;
} PyTreeHead;

typedef struct {
    PyObject_HEAD
    TSQuery *query;
} PyQueryHead;

typedef struct {
    PyObject_HEAD
    TSNode node;
    PyObject *children, *tree;
} PyNodeHead;

static PyTypeObject *tree_type, *query_type, *node_type; /* handed over by bind() */

enum { IS_REFERENCE = 1, IS_ROOT = 2 };

/* A growable array of fixed-size records. */
typedef struct {
    char *data;
    size_t size, capacity, item;
} Vec;

static void *vec_push(Vec *v) {
    if (v->size == v->capacity) {
        size_t capacity = v->capacity ? v->capacity * 2 : 64;
        char *data = PyMem_Realloc(v->data, capacity * v->item);
        if (!data) return NULL;
        v->data = data;
        v->capacity = capacity;
    }
    return v->data + v->item * v->size++;
}

#define VEC_AT(v, type, i) (((type *)(v).data)[i])

typedef struct {
    uint32_t name, start, line, column;
} Occurrence;

typedef struct {
    uint32_t start, end, depth, entered, size;
    int32_t parent_depth; /* depth of the nearest candidate ancestor, -1 if none */
    uint16_t symbol;
    TSNode node; /* for running the query under it */
} Candidate;

/* Raw identifier bytes -> name id, open addressing over (offset, length) slices of the source. */
typedef struct {
    uint32_t *slots; /* 0 = empty, else index + 1 into the slice arrays */
    uint32_t mask;
    Vec offsets, lengths, ids;
} NameTable;

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* The slot of a slice: either holding it or the empty slot where it goes. */
static uint32_t *name_slot(NameTable *t, const char *source, uint32_t offset, uint32_t length) {
    uint32_t i = (uint32_t)hash_bytes(source + offset, length) & t->mask;
    for (;; i = (i + 1) & t->mask) {
        uint32_t s = t->slots[i];
        if (!s) return &t->slots[i];
        uint32_t o = VEC_AT(t->offsets, uint32_t, s - 1), n = VEC_AT(t->lengths, uint32_t, s - 1);
        if (n == length && memcmp(source + o, source + offset, length) == 0) return &t->slots[i];
    }
}

static int name_table_grow(NameTable *t, const char *source) {
    uint32_t count = (uint32_t)t->offsets.size, capacity = (t->mask + 1) * 2;
    uint32_t *slots = PyMem_Calloc(capacity, sizeof(uint32_t));
    if (!slots) return -1;
    PyMem_Free(t->slots);
    t->slots = slots;
    t->mask = capacity - 1;
    for (uint32_t k = 0; k < count; k++)
        *name_slot(t, source, VEC_AT(t->offsets, uint32_t, k), VEC_AT(t->lengths, uint32_t, k)) = k + 1;
    return 0;
}

typedef struct {
    const char *source;
    Py_ssize_t source_length;
    const uint8_t *flags;
    Py_ssize_t flag_count;
    PyObject *ignored; /* a set of names never recorded */
    PyObject *names;   /* list: name id -> str */
    PyObject *ids;     /* dict: str -> name id (raw spellings that decode alike share one) */
    NameTable table;
    Vec occurrences, candidates, depth_counts, open;
} Scan;

/* The name id of the identifier at [start, end), -1 when ignored, -2 on error. */
static int64_t name_id(Scan *s, uint32_t start, uint32_t end) {
    uint32_t *slot = name_slot(&s->table, s->source, start, end - start);
    if (*slot) return (int32_t)VEC_AT(s->table.ids, int32_t, *slot - 1);
    PyObject *name = PyUnicode_DecodeUTF8(s->source + start, end - start, "replace");
    if (!name) return -2;
    int64_t id;
    int ignored = PySet_Contains(s->ignored, name);
    if (ignored < 0) goto fail;
    if (ignored) {
        id = -1;
    } else {
        PyObject *known = PyDict_GetItemWithError(s->ids, name);
        if (known) {
            id = PyLong_AsLong(known);
        } else if (PyErr_Occurred()) {
            goto fail;
        } else {
            id = PyList_GET_SIZE(s->names);
            PyObject *number = PyLong_FromLongLong(id);
            int failed = !number || PyDict_SetItem(s->ids, name, number) < 0 || PyList_Append(s->names, name) < 0;
            Py_XDECREF(number);
            if (failed) goto fail;
        }
    }
    Py_DECREF(name);
    uint32_t *o = vec_push(&s->table.offsets), *n = vec_push(&s->table.lengths);
    int32_t *i = vec_push(&s->table.ids);
    if (!o || !n || !i) return PyErr_NoMemory(), -2;
    *o = start, *n = end - start, *i = (int32_t)id;
    *slot = (uint32_t)s->table.offsets.size;
    if (s->table.offsets.size * 2 > s->table.mask && name_table_grow(&s->table, s->source) < 0)
        return PyErr_NoMemory(), -2;
    return id;
fail:
    Py_DECREF(name);
    return -2;
}

/* Closes the open candidates at `depth` or deeper: their subtrees were entered before `entered`. */
static void close_candidates(Scan *s, uint32_t depth, uint32_t entered) {
    while (s->open.size) {
        Candidate *c = &VEC_AT(s->candidates, Candidate, VEC_AT(s->open, uint32_t, s->open.size - 1));
        if (c->depth < depth) break;
        c->size = entered - c->entered;
        s->open.size--;
    }
}

/* One visible node: `symbol` (public), content from `start` for `size`, at query depth `depth`;
 * `subtree` (in the tree) and `alias` make its TSNode. */
static int visit(Scan *s, const TSTree *tree, const Subtree *subtree, TSSymbol alias, TSSymbol symbol, Length start,
                 Length size, uint32_t depth, uint32_t entered) {
    uint8_t flags = symbol < s->flag_count ? s->flags[symbol] : 0;
    close_candidates(s, depth, entered);
    while (s->depth_counts.size <= depth) {
        uint32_t *count = vec_push(&s->depth_counts);
        if (!count) return -1;
        *count = 0;
    }
    VEC_AT(s->depth_counts, uint32_t, depth)++;
    uint32_t end = start.bytes + size.bytes;
    if (flags & IS_REFERENCE) {
        if (end > (uint64_t)s->source_length) {
            PyErr_SetString(PyExc_ValueError, "the tree does not belong to this source");
            return -1;
        }
        int64_t id = name_id(s, start.bytes, end);
        if (id == -2) return -1;
        if (id >= 0) {
            Occurrence *o = vec_push(&s->occurrences);
            if (!o) return -1;
            *o = (Occurrence){(uint32_t)id, start.bytes, start.extent.row + 1, start.extent.column};
        }
    }
    if (flags & IS_ROOT) {
        Candidate *c = vec_push(&s->candidates);
        uint32_t *open = vec_push(&s->open);
        if (!c || !open) return -1;
        int32_t parent = -1;
        if (s->open.size > 1)
            parent = (int32_t)VEC_AT(s->candidates, Candidate, VEC_AT(s->open, uint32_t, s->open.size - 2)).depth;
        *c = (Candidate){start.bytes, end, depth, entered, 0, parent, symbol, ts_node_new(tree, subtree, start, alias)};
        *open = (uint32_t)s->candidates.size - 1;
    }
    return 0;
}

/* A node whose children are being walked: the runtime's own child iteration (as in
 * tree_cursor.c), without the cursor's per-step bookkeeping. */
typedef struct {
    Subtree parent;
    const TSSymbol *aliases;
    uint32_t index, structural, depth; /* depth: the query depth of its visible children */
    Length position;                   /* where the next child's content starts */
} Frame;

/* Pre-order walk over every visible node, in the order and at the depths a query cursor sees
 * them; returns the number of nodes entered, or -1. */
static int64_t walk(Scan *s, const TSTree *tree) {
    const TSLanguage *language = tree->language;
    Vec frames = {.item = sizeof(Frame)};
    uint32_t entered = 0;
    int64_t result = -1;
    Subtree root = tree->root;
    Length start = ts_subtree_padding(root);
    if (visit(s, tree, &tree->root, 0, ts_language_public_symbol(language, ts_subtree_symbol(root)), start,
              ts_subtree_size(root), 0, entered++) < 0)
        goto done;
    Frame *top = vec_push(&frames);
    if (!top) goto done;
    *top = (Frame){root, ts_language_alias_sequence(language, ts_subtree_production_id(root)), 0, 0, 1, start};
    while (frames.size) {
        Frame *f = &VEC_AT(frames, Frame, frames.size - 1);
        uint32_t count = ts_subtree_child_count(f->parent);
        if (f->index == count) {
            frames.size--;
            continue;
        }
        const Subtree *children = ts_subtree_children(f->parent), *at = &children[f->index];
        Subtree child = *at;
        TSSymbol alias = 0;
        if (!ts_subtree_extra(child)) {
            if (f->aliases) alias = f->aliases[f->structural];
            f->structural++;
        }
        bool visible = ts_subtree_visible(child) || alias;
        Length child_start = f->position, size = ts_subtree_size(child);
        uint32_t depth = f->depth;
        f->position = length_add(child_start, size);
        if (++f->index < count) f->position = length_add(f->position, ts_subtree_padding(children[f->index]));
        if (visible) {
            TSSymbol symbol = ts_language_public_symbol(language, alias ? alias : ts_subtree_symbol(child));
            if (visit(s, tree, at, alias, symbol, child_start, size, depth, entered++) < 0) goto done;
        }
        if (ts_subtree_child_count(child)) {
            Frame *next = vec_push(&frames); /* may move the frames: f is not used after this */
            if (!next) goto done;
            *next = (Frame){child, ts_language_alias_sequence(language, ts_subtree_production_id(child)), 0, 0,
                            visible ? depth + 1 : depth, child_start};
        }
    }
    close_candidates(s, 0, entered);
    result = entered;
done:
    PyMem_Free(frames.data);
    if (result < 0 && !PyErr_Occurred()) PyErr_NoMemory();
    return result;
}

/* The max start depth k that minimises (nodes at depth <= k) + (per deep candidate: subtree + cost),
 * where the deep candidates are those deeper than k with no candidate ancestor deeper than k. */
static uint32_t best_depth(Scan *s, long rescan_cost) {
    size_t depths = s->depth_counts.size;
    double *delta = PyMem_Calloc(depths + 1, sizeof(double));
    if (!delta) return (uint32_t)(depths ? depths - 1 : 0);
    for (size_t i = 0; i < s->candidates.size; i++) {
        Candidate *c = &VEC_AT(s->candidates, Candidate, i);
        uint32_t low = c->parent_depth < 0 ? 0 : (uint32_t)c->parent_depth;
        if (c->depth == 0 || low > c->depth - 1) continue;
        delta[low] += (double)c->size + rescan_cost;
        delta[c->depth] -= (double)c->size + rescan_cost;
    }
    double shallow = 0, deep = 0, best_cost = -1;
    uint32_t best = 0;
    for (uint32_t k = 0; k < depths; k++) {
        shallow += VEC_AT(s->depth_counts, uint32_t, k);
        deep += delta[k];
        if (best_cost < 0 || shallow + deep < best_cost) best_cost = shallow + deep, best = k;
    }
    PyMem_Free(delta);
    return best;
}

/* Whether `object` is a `type` handed over by bind(); sets the error when not. */
static int is_bound(PyObject *object, PyTypeObject *type, const char *name) {
    if (!type) {
        PyErr_SetString(PyExc_RuntimeError, "bind(tree_sitter.Tree, tree_sitter.Query, tree_sitter.Node) was not called");
        return 0;
    }
    if (!PyObject_TypeCheck(object, type)) {
        PyErr_Format(PyExc_TypeError, "expected a tree_sitter.%s", name);
        return 0;
    }
    return 1;
}

static TSTree *tree_of(PyObject *object) {
    return is_bound(object, tree_type, "Tree") ? ((PyTreeHead *)object)->tree : NULL;
}

static void scan_free(Scan *s) {
    Py_XDECREF(s->names);
    Py_XDECREF(s->ids);
    PyMem_Free(s->table.slots);
    PyMem_Free(s->table.offsets.data);
    PyMem_Free(s->table.lengths.data);
    PyMem_Free(s->table.ids.data);
    PyMem_Free(s->occurrences.data);
    PyMem_Free(s->candidates.data);
    PyMem_Free(s->depth_counts.data);
    PyMem_Free(s->open.data);
}

static Scan scan_new(Py_buffer *source, Py_buffer *flags, PyObject *ignored) {
    Scan s = {.source = source->buf, .source_length = source->len, .flags = flags->buf, .flag_count = flags->len,
              .ignored = ignored, .names = PyList_New(0), .ids = PyDict_New()};
    s.occurrences.item = sizeof(Occurrence), s.candidates.item = sizeof(Candidate);
    s.depth_counts.item = s.open.item = s.table.offsets.item = s.table.lengths.item = s.table.ids.item = 4;
    return s;
}

/* The walk of scan() and scan_structure(); -1 with the error set. */
static int scan_walk(Scan *s, const TSTree *tree) {
    if (!s->names || !s->ids) return -1;
    if (!(s->table.slots = PyMem_Calloc(256, sizeof(uint32_t)))) {
        PyErr_NoMemory();
        return -1;
    }
    s->table.mask = 255;
    return walk(s, tree) < 0 ? -1 : 0;
}

PyDoc_STRVAR(scan_doc,
    "scan(tree, source, flags, ignored, rescan_cost) -> (occurrences, names, depth, deep)\n\n"
    "flags[symbol] marks reference node types (1) and node types where a query pattern starts (2).\n"
    "occurrences packs (name id, start byte, line, column) as uint32 in document order; names maps\n"
    "ids to str. With rescan_cost >= 0, depth is the max start depth to run the query with and deep\n"
    "lists (start, end, symbol) of the candidates below it to run it under; else depth is -1.");

static PyObject *scan(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *tree_object, *ignored;
    Py_buffer source, flags;
    long rescan_cost;
    if (!PyArg_ParseTuple(args, "Oy*y*O!l", &tree_object, &source, &flags, &PyFrozenSet_Type, &ignored, &rescan_cost))
        return NULL;
    PyObject *result = NULL;
    Scan s = scan_new(&source, &flags, ignored);
    TSTree *tree = tree_of(tree_object);
    if (!tree || scan_walk(&s, tree) < 0) goto done;
    long depth = -1;
    PyObject *deep = PyList_New(0);
    if (!deep) goto done;
    if (rescan_cost >= 0) {
        depth = best_depth(&s, rescan_cost);
        for (size_t i = 0; i < s.candidates.size; i++) {
            Candidate *c = &VEC_AT(s.candidates, Candidate, i);
            if (c->depth <= depth || c->parent_depth > depth) continue;
            PyObject *entry = Py_BuildValue("(IIH)", c->start, c->end, c->symbol);
            if (!entry || PyList_Append(deep, entry) < 0) {
                Py_XDECREF(entry);
                Py_DECREF(deep);
                goto done;
            }
            Py_DECREF(entry);
        }
    }
    result = Py_BuildValue("(y#OlN)", s.occurrences.data ? s.occurrences.data : "",
                           (Py_ssize_t)(s.occurrences.size * sizeof(Occurrence)), s.names, depth, deep);
done:
    scan_free(&s);
    PyBuffer_Release(&source);
    PyBuffer_Release(&flags);
    return result;
}

/* The max start depth k that minimises (nodes at depth <= k) + cost per candidate deeper than k,
 * for running the query once from the root to depth k and once at each deeper candidate itself. */
static uint32_t candidate_depth(Scan *s, long cost) {
    size_t depths = s->depth_counts.size;
    uint32_t *at_depth = PyMem_Calloc(depths + 1, sizeof(uint32_t));
    if (!at_depth) return (uint32_t)(depths ? depths - 1 : 0);
    for (size_t i = 0; i < s->candidates.size; i++) at_depth[VEC_AT(s->candidates, Candidate, i).depth]++;
    double shallow = 0, deeper = (double)s->candidates.size, best_cost = -1;
    uint32_t best = 0;
    for (uint32_t k = 0; k < depths; k++) {
        shallow += VEC_AT(s->depth_counts, uint32_t, k);
        deeper -= at_depth[k];
        double total = shallow + deeper * cost;
        if (best_cost < 0 || total < best_cost) best_cost = total, best = k;
    }
    PyMem_Free(at_depth);
    return best;
}

/* Appends every capture of the cursor's run to captures[capture index], as py-tree-sitter Nodes. */
static int collect(TSQueryCursor *cursor, PyObject *tree_object, PyObject *captures) {
    TSQueryMatch match;
    uint32_t index;
    while (ts_query_cursor_next_capture(cursor, &match, &index)) {
        const TSQueryCapture *capture = &match.captures[index];
        PyNodeHead *node = PyObject_New(PyNodeHead, node_type); /* as py-tree-sitter's node_new_internal */
        if (!node) return -1;
        node->node = capture->node;
        node->children = NULL;
        node->tree = Py_NewRef(tree_object);
        int failed = PyList_Append(PyList_GET_ITEM(captures, capture->index), (PyObject *)node);
        Py_DECREF(node);
        if (failed) return -1;
    }
    return 0;
}

PyDoc_STRVAR(scan_structure_doc,
    "scan_structure(tree, source, flags, ignored, run_cost, query) -> (occurrences, names, captures)\n\n"
    "scan()'s walk, then the query (a tree_sitter.Query without text predicates) run here: from the\n"
    "root to the depth that minimises the nodes it visits plus run_cost per deeper candidate, and at\n"
    "each deeper candidate for the patterns that start at it alone (run_cost < 0: one full run).\n"
    "captures lists the Nodes of each capture index: the captures of one full run, in another order.");

static PyObject *scan_structure(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *tree_object, *ignored, *query_object;
    Py_buffer source, flags;
    long run_cost;
    if (!PyArg_ParseTuple(args, "Oy*y*O!lO", &tree_object, &source, &flags, &PyFrozenSet_Type, &ignored, &run_cost,
                          &query_object))
        return NULL;
    PyObject *result = NULL, *captures = NULL;
    TSQueryCursor *cursor = NULL;
    Scan s = scan_new(&source, &flags, ignored);
    TSTree *tree = tree_of(tree_object);
    if (!tree || !is_bound(query_object, query_type, "Query") || scan_walk(&s, tree) < 0) goto done;
    const TSQuery *query = ((PyQueryHead *)query_object)->query;
    uint32_t capture_count = ts_query_capture_count(query);
    if (!(captures = PyList_New(capture_count))) goto done;
    for (uint32_t i = 0; i < capture_count; i++) {
        PyObject *list = PyList_New(0);
        if (!list) goto done;
        PyList_SET_ITEM(captures, i, list);
    }
    if (!(cursor = ts_query_cursor_new())) {
        PyErr_NoMemory();
        goto done;
    }
    uint32_t depth = run_cost < 0 ? UINT32_MAX : candidate_depth(&s, run_cost); /* < 0: no plan, one full run */
    ts_query_cursor_set_max_start_depth(cursor, depth);
    ts_query_cursor_exec(cursor, query, ts_tree_root_node(tree));
    if (collect(cursor, tree_object, captures) < 0) goto done;
    ts_query_cursor_set_max_start_depth(cursor, 0);
    for (size_t i = 0; i < s.candidates.size; i++) {
        Candidate *c = &VEC_AT(s.candidates, Candidate, i);
        if (c->depth <= depth) continue;
        ts_query_cursor_exec(cursor, query, c->node);
        if (collect(cursor, tree_object, captures) < 0) goto done;
    }
    result = Py_BuildValue("(y#OO)", s.occurrences.data ? s.occurrences.data : "",
                           (Py_ssize_t)(s.occurrences.size * sizeof(Occurrence)), s.names, captures);
done:
    if (cursor) ts_query_cursor_delete(cursor);
    Py_XDECREF(captures);
    scan_free(&s);
    PyBuffer_Release(&source);
    PyBuffer_Release(&flags);
    return result;
}

PyDoc_STRVAR(has_predicates_doc, "has_predicates(query) -> whether a pattern of a tree_sitter.Query has text predicates.");

static PyObject *has_predicates(PyObject *Py_UNUSED(module), PyObject *query_object) {
    if (!is_bound(query_object, query_type, "Query")) return NULL;
    const TSQuery *query = ((PyQueryHead *)query_object)->query;
    for (uint32_t i = 0; i < ts_query_pattern_count(query); i++) {
        uint32_t steps;
        ts_query_predicates_for_pattern(query, i, &steps);
        if (steps) Py_RETURN_TRUE;
    }
    Py_RETURN_FALSE;
}

static int compare_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

PyDoc_STRVAR(pack_doc,
    "pack(occurrences, names, skip, as_bytes) -> dict\n\n"
    "Occurrences from scan() grouped by name in order of first occurrence, leaving out those starting\n"
    "at a byte in skip: each name maps to its flat (line, column) pairs, as array('i') bytes or a list.");

static PyObject *pack(PyObject *Py_UNUSED(module), PyObject *args) {
    Py_buffer buffer;
    PyObject *names, *skip_object;
    int as_bytes;
    if (!PyArg_ParseTuple(args, "y*O!Op", &buffer, &PyList_Type, &names, &skip_object, &as_bytes)) return NULL;
    PyObject *result = NULL, *skip_sequence = PySequence_Fast(skip_object, "skip must be a collection of ints");
    const Occurrence *occurrences = buffer.buf;
    size_t count = (size_t)buffer.len / sizeof(Occurrence), name_count = (size_t)PyList_GET_SIZE(names);
    Py_ssize_t skip_count = skip_sequence ? PySequence_Fast_GET_SIZE(skip_sequence) : 0;
    uint32_t *skip = PyMem_Malloc((skip_count + 1) * sizeof(uint32_t));
    uint32_t *totals = PyMem_Calloc(name_count + 1, sizeof(uint32_t));
    uint32_t *filled = PyMem_Calloc(name_count + 1, sizeof(uint32_t));
    PyObject **values = PyMem_Calloc(name_count + 1, sizeof(PyObject *));
    if (!skip_sequence || !skip || !totals || !filled || !values) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < skip_count; i++) {
        unsigned long value = PyLong_AsUnsignedLong(PySequence_Fast_GET_ITEM(skip_sequence, i));
        if (value == (unsigned long)-1 && PyErr_Occurred()) goto done;
        skip[i] = (uint32_t)value;
    }
    qsort(skip, skip_count, sizeof(uint32_t), compare_u32);
    /* Occurrences are in document order: one pointer into the sorted skip list marks the skipped. */
    Py_ssize_t j = 0;
    for (size_t i = 0; i < count; i++) {
        const Occurrence *o = &occurrences[i];
        while (j < skip_count && skip[j] < o->start) j++;
        if (o->name >= name_count) {
            PyErr_SetString(PyExc_ValueError, "occurrences do not match names");
            goto done;
        }
        if (!(j < skip_count && skip[j] == o->start)) totals[o->name]++;
    }
    if (!(result = PyDict_New())) goto done;
    j = 0;
    for (size_t i = 0; i < count; i++) {
        const Occurrence *o = &occurrences[i];
        while (j < skip_count && skip[j] < o->start) j++;
        if (j < skip_count && skip[j] == o->start) continue;
        uint32_t n = o->name, at = filled[n]++;
        if (!values[n]) {
            values[n] = as_bytes ? PyBytes_FromStringAndSize(NULL, (Py_ssize_t)totals[n] * 2 * sizeof(int32_t))
                                 : PyList_New((Py_ssize_t)totals[n] * 2);
            if (!values[n] || PyDict_SetItem(result, PyList_GET_ITEM(names, n), values[n]) < 0) goto fail;
        }
        if (as_bytes) {
            int32_t *pair = (int32_t *)PyBytes_AS_STRING(values[n]) + 2 * at;
            pair[0] = (int32_t)o->line, pair[1] = (int32_t)o->column;
        } else {
            PyObject *line = PyLong_FromUnsignedLong(o->line), *column = PyLong_FromUnsignedLong(o->column);
            if (!line || !column) {
                Py_XDECREF(line);
                Py_XDECREF(column);
                goto fail;
            }
            PyList_SET_ITEM(values[n], 2 * at, line);
            PyList_SET_ITEM(values[n], 2 * at + 1, column);
        }
    }
    goto done;
fail:
    Py_CLEAR(result);
done:
    if (values)
        for (size_t n = 0; n < name_count; n++) Py_XDECREF(values[n]);
    PyMem_Free(values);
    PyMem_Free(filled);
    PyMem_Free(totals);
    PyMem_Free(skip);
    Py_XDECREF(skip_sequence);
    PyBuffer_Release(&buffer);
    return result;
}

PyDoc_STRVAR(pattern_roots_doc,
    "pattern_roots(query) -> tuple of symbols | None\n\n"
    "The node types at which the enabled patterns of a tree_sitter.Query start, or None when a pattern\n"
    "can start anywhere (a wildcard or several top-level nodes).");

static PyObject *pattern_roots(PyObject *Py_UNUSED(module), PyObject *query_object) {
    if (!is_bound(query_object, query_type, "Query")) return NULL;
    const TSQuery *query = ((PyQueryHead *)query_object)->query;
    if (query->wildcard_root_pattern_count) Py_RETURN_NONE;
    PyObject *result = PyTuple_New(query->pattern_map.size);
    for (uint32_t i = 0; result && i < query->pattern_map.size; i++) {
        PatternEntry *entry = array_get(&query->pattern_map, i);
        if (!entry->is_rooted) {
            Py_DECREF(result);
            Py_RETURN_NONE;
        }
        PyObject *symbol = PyLong_FromLong(array_get(&query->steps, entry->step_index)->symbol);
        if (!symbol) Py_CLEAR(result);
        else PyTuple_SET_ITEM(result, i, symbol);
    }
    return result;
}

/* -- definitions ------------------------------------------------------------------------------ */

/* A definition capture: its node's byte span, its place among the captures, its kind. */
typedef struct {
    uint32_t start, end, order;
    TSNode node;
    PyObject *object, *kind; /* borrowed from the caller's lists */
} Site;

typedef struct {
    uint32_t start, end, order;
    TSPoint point;
} NameSite;

static int compare_sites(const void *a, const void *b) { /* (start, -end, order), as extract.py sorts */
    const Site *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->end != y->end) return x->end > y->end ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

static int compare_names(const void *a, const void *b) { /* by start, stable */
    const NameSite *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return (x->order > y->order) - (x->order < y->order);
}

static int node_of(PyObject *object, TSNode *node) {
    if (!is_bound(object, node_type, "Node")) return -1;
    *node = ((PyNodeHead *)object)->node;
    return 0;
}

/* What bytes.strip() strips. */
static int bytes_space(char c) { return c == ' ' || (c >= 9 && c <= 13); }

/* The last '\n' in source[0:end], or -1. */
static int64_t newline_before(const char *source, uint32_t end) {
    while (end--)
        if (source[end] == '\n') return end;
    return -1;
}

/* Whether the line above the one holding `byte` reads as a comment (languages/base.py's
 * _comment_line_above, the test leading_comment starts with). */
static int comment_line_above(const char *source, uint32_t byte) {
    int64_t line_start = newline_before(source, byte);
    if (line_start <= 0) return 0;
    uint32_t from = (uint32_t)(newline_before(source, (uint32_t)line_start) + 1), to = (uint32_t)line_start;
    while (from < to && bytes_space(source[from])) from++;
    while (to > from && bytes_space(source[to - 1])) to--;
    const char *p = source + from;
    size_t n = to - from;
    return (n >= 1 && (p[0] == '#' || p[0] == '*')) || (n >= 2 && p[0] == '/' && (p[1] == '/' || p[1] == '*')) ||
           (n >= 2 && p[0] == '-' && p[1] == '-') || (n >= 2 && p[n - 2] == '*' && p[n - 1] == '/');
}

/* Whether a node of type `type` is the first named child of `parent` (not null). */
static int first_named_is(TSNode parent, const char *type, TSNode *child) {
    if (ts_node_is_null(parent) || !ts_node_named_child_count(parent)) return 0;
    *child = ts_node_named_child(parent, 0);
    return strcmp(ts_node_type(*child), type) == 0;
}

/* Python's str.isspace() over ASCII: what str.split() splits on. */
static int ascii_space(unsigned char c) { return c == ' ' || (c >= 9 && c <= 13) || (c >= 28 && c <= 31); }

/* " ".join(text.split()).rstrip(" {:")[:max_chars], for UTF-8 bytes `text` (as extract.py's _signature). */
static PyObject *collapsed(const char *text, Py_ssize_t length, Py_ssize_t max_chars) {
    Py_ssize_t i = 0;
    while (i < length && !((unsigned char)text[i] & 0x80)) i++;
    if (i < length) { /* not ASCII: the same steps through str */
        PyObject *decoded = PyUnicode_DecodeUTF8(text, length, "replace");
        PyObject *parts = decoded ? PyUnicode_Split(decoded, NULL, -1) : NULL;
        PyObject *space = PyUnicode_FromStringAndSize(" ", 1);
        PyObject *joined = parts && space ? PyUnicode_Join(space, parts) : NULL;
        PyObject *stripped = joined ? PyObject_CallMethod(joined, "rstrip", "s", " {:") : NULL;
        PyObject *result = NULL;
        if (stripped) result = PyUnicode_Substring(stripped, 0, Py_MIN(PyUnicode_GET_LENGTH(stripped), max_chars));
        Py_XDECREF(decoded);
        Py_XDECREF(parts);
        Py_XDECREF(space);
        Py_XDECREF(joined);
        Py_XDECREF(stripped);
        return result;
    }
    char *out = PyMem_Malloc(length + 1);
    if (!out) return PyErr_NoMemory();
    Py_ssize_t n = 0;
    for (i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        if (ascii_space(c)) continue;
        if (n && ascii_space((unsigned char)text[i - 1])) out[n++] = ' ';
        out[n++] = (char)c;
    }
    while (n && (out[n - 1] == ' ' || out[n - 1] == '{' || out[n - 1] == ':')) n--;
    PyObject *result = PyUnicode_FromStringAndSize(out, Py_MIN(n, max_chars));
    PyMem_Free(out);
    return result;
}

PyDoc_STRVAR(definitions_doc,
    "definitions(source, groups, names, body_field, containers, span, doc, comment_above, docstring, make,\n"
    "            max_signature, max_doc) -> (definitions, name starts)\n\n"
    "extract.py's definition pass (see Extractor._definitions, which it must equal): groups lists\n"
    "(kind, nodes) per definition capture in capture order, names the @name nodes; definitions are\n"
    "ordered by (start, -end, capture order) and paired with the names in document order. span and\n"
    "doc are the language's hooks (None: the node itself, no doc); when comment_above is true or\n"
    "docstring is a (statement type, literal type) pair, doc is called only for definitions with a\n"
    "comment line above them or such a docstring (LanguageSpec says where its hook looks). make\n"
    "builds one definition from (name, qualified name, kind, start line, end line, name line, name\n"
    "column, signature, doc, parent).");

static PyObject *definitions(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *source_object, *groups, *name_list, *containers, *span_hook, *doc_hook, *make;
    int body_field, comment_above;
    const char *docstring_statement = NULL, *docstring_literal = NULL;
    Py_ssize_t max_signature, max_doc;
    if (!PyArg_ParseTuple(args, "SO!O!iO!OOp(zz)Onn", &source_object, &PyList_Type, &groups, &PyList_Type,
                          &name_list, &body_field, &PyFrozenSet_Type, &containers, &span_hook, &doc_hook,
                          &comment_above, &docstring_statement, &docstring_literal, &make, &max_signature, &max_doc))
        return NULL;
    int doc_anywhere = !comment_above && !docstring_statement; /* the hook may look anywhere: always call it */
    const char *source = PyBytes_AS_STRING(source_object);
    Py_ssize_t source_length = PyBytes_GET_SIZE(source_object);
    Vec sites = {.item = sizeof(Site)}, names = {.item = sizeof(NameSite)};
    PyObject **qualified = NULL, **kinds = NULL; /* per definition made: owned references */
    uint32_t *ends = NULL, *open = NULL, made = 0, open_count = 0;
    PyObject *result = NULL, *found = PyList_New(0), *starts = PySet_New(NULL);
    PyObject *function = PyUnicode_InternFromString("function"), *method = PyUnicode_InternFromString("method");
    if (!found || !starts || !function || !method) goto done;

    uint32_t order = 0;
    for (Py_ssize_t g = 0; g < PyList_GET_SIZE(groups); g++) {
        PyObject *group = PyList_GET_ITEM(groups, g), *kind, *nodes;
        if (!PyArg_ParseTuple(group, "UO!", &kind, &PyList_Type, &nodes)) goto done;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(nodes); i++) {
            Site *site = vec_push(&sites);
            if (!site) goto nomemory;
            site->object = PyList_GET_ITEM(nodes, i), site->kind = kind, site->order = order++;
            if (node_of(site->object, &site->node) < 0) goto done;
            site->start = ts_node_start_byte(site->node), site->end = ts_node_end_byte(site->node);
        }
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(name_list); i++) {
        TSNode node;
        if (node_of(PyList_GET_ITEM(name_list, i), &node) < 0) goto done;
        NameSite *name = vec_push(&names);
        if (!name) goto nomemory;
        *name = (NameSite){ts_node_start_byte(node), ts_node_end_byte(node), (uint32_t)i, ts_node_start_point(node)};
    }
    qsort(sites.data, sites.size, sizeof(Site), compare_sites);
    qsort(names.data, names.size, sizeof(NameSite), compare_names);
    size_t pairs = Py_MIN(sites.size, names.size);
    qualified = PyMem_Calloc(pairs + 1, sizeof(PyObject *));
    kinds = PyMem_Calloc(pairs + 1, sizeof(PyObject *));
    ends = PyMem_Calloc(pairs + 1, sizeof(uint32_t));
    open = PyMem_Calloc(pairs + 1, sizeof(uint32_t));
    if (!qualified || !kinds || !ends || !open) goto nomemory;

    for (size_t i = 0; i < pairs; i++) {
        Site *site = &VEC_AT(sites, Site, i);
        NameSite *at = &VEC_AT(names, NameSite, i);
        if (!(site->start <= at->start && at->end <= site->end)) continue; /* a pattern broke the pairing */
        if (at->end > (uint64_t)source_length) {
            PyErr_SetString(PyExc_ValueError, "the nodes do not belong to this source");
            goto done;
        }
        while (open_count && ends[open[open_count - 1]] <= site->start) open_count--;
        long parent = open_count ? (long)open[open_count - 1] : -1;
        PyObject *name = PyUnicode_DecodeUTF8(source + at->start, at->end - at->start, "replace");
        if (!name) goto done;
        PyObject *kind = Py_NewRef(site->kind), *full;
        if (parent >= 0) {
            full = PyUnicode_FromFormat("%U.%U", qualified[parent], name);
            if (full && PyUnicode_Compare(kind, function) == 0) { /* a function in a class is a method */
                int contained = PySet_Contains(containers, kinds[parent]);
                if (contained < 0) Py_CLEAR(full);
                else if (contained) Py_SETREF(kind, Py_NewRef(method));
            }
        } else {
            full = Py_NewRef(name);
        }
        PyObject *span = NULL, *signature = NULL, *doc = NULL, *definition = NULL;
        TSPoint start_point = ts_node_start_point(site->node), end_point = ts_node_end_point(site->node);
        uint32_t start_line = start_point.row + 1, end_row = end_point.row, span_start = site->start;
        if (end_point.column == 0 && end_row > start_point.row) end_row--; /* ends at a line start */
        if (!full) goto next;
        span = span_hook == Py_None ? Py_NewRef(site->object) : PyObject_CallOneArg(span_hook, site->object);
        if (!span) goto next;
        if (span != site->object) {
            TSNode span_node;
            if (node_of(span, &span_node) < 0) goto next;
            start_line = ts_node_start_point(span_node).row + 1;
            span_start = ts_node_start_byte(span_node);
        }
        uint32_t body_start = site->start, text_end;
        TSNode body = {0};
        if (body_field > 0) {
            body = ts_node_child_by_field_id(site->node, (TSFieldId)body_field);
            if (!ts_node_is_null(body)) body_start = ts_node_start_byte(body);
        }
        if (body_start > site->start) {
            text_end = body_start;
        } else {
            const char *newline = memchr(source + site->start, '\n', site->end - site->start);
            text_end = newline ? (uint32_t)(newline - source) : site->end;
        }
        signature = collapsed(source + site->start, text_end - site->start, max_signature);
        if (!signature) goto next;
        TSNode statement, literal;
        int has_doc = doc_hook != Py_None &&
                      (doc_anywhere ||
                       (comment_above &&
                        (comment_line_above(source, site->start) || comment_line_above(source, span_start))) ||
                       (docstring_statement && first_named_is(body, docstring_statement, &statement) &&
                        first_named_is(statement, docstring_literal, &literal)));
        if (!has_doc) {
            doc = PyUnicode_New(0, 0);
        } else {
            PyObject *text = PyObject_CallFunctionObjArgs(doc_hook, site->object, span, source_object, NULL);
            if (text && !PyUnicode_Check(text)) {
                PyErr_SetString(PyExc_TypeError, "a doc hook must return str");
                Py_CLEAR(text);
            }
            doc = text && PyUnicode_GET_LENGTH(text) > max_doc ? PyUnicode_Substring(text, 0, max_doc) : Py_XNewRef(text);
            Py_XDECREF(text);
        }
        if (!doc) goto next;
        definition = PyObject_CallFunction(make, "OOOIIIIOOl", name, full, kind, start_line, end_row + 1,
                                           at->point.row + 1, at->point.column, signature, doc, parent);
        if (definition && PyList_Append(found, definition) == 0) {
            PyObject *name_start = PyLong_FromUnsignedLong(at->start);
            if (name_start && PySet_Add(starts, name_start) == 0) {
                qualified[made] = Py_NewRef(full), kinds[made] = Py_NewRef(kind), ends[made] = site->end;
                open[open_count++] = made++;
            }
            Py_XDECREF(name_start);
        }
    next:
        Py_DECREF(name);
        Py_DECREF(kind);
        Py_XDECREF(full);
        Py_XDECREF(span);
        Py_XDECREF(signature);
        Py_XDECREF(doc);
        Py_XDECREF(definition);
        if (PyErr_Occurred()) goto done;
    }
    result = PyTuple_Pack(2, found, starts);
    goto done;
nomemory:
    PyErr_NoMemory();
done:
    for (uint32_t i = 0; i < made; i++) {
        Py_DECREF(qualified[i]);
        Py_DECREF(kinds[i]);
    }
    PyMem_Free(qualified);
    PyMem_Free(kinds);
    PyMem_Free(ends);
    PyMem_Free(open);
    PyMem_Free(sites.data);
    PyMem_Free(names.data);
    Py_XDECREF(found);
    Py_XDECREF(starts);
    Py_XDECREF(function);
    Py_XDECREF(method);
    return result;
}

PyDoc_STRVAR(root_doc, "root(tree) -> (symbol, start byte, end byte, child count) of the root as this module reads it.");

static PyObject *root(PyObject *Py_UNUSED(module), PyObject *tree_object) {
    TSTree *tree = tree_of(tree_object);
    if (!tree) return NULL;
    TSNode node = ts_tree_root_node(tree);
    return Py_BuildValue("(HIII)", ts_node_symbol(node), ts_node_start_byte(node), ts_node_end_byte(node),
                         ts_node_child_count(node));
}

static PyObject *bind(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *tree, *query, *node;
    if (!PyArg_ParseTuple(args, "O!O!O!", &PyType_Type, &tree, &PyType_Type, &query, &PyType_Type, &node))
        return NULL;
    Py_XSETREF(tree_type, (PyTypeObject *)Py_NewRef(tree));
    Py_XSETREF(query_type, (PyTypeObject *)Py_NewRef(query));
    Py_XSETREF(node_type, (PyTypeObject *)Py_NewRef(node));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"bind", bind, METH_VARARGS, "bind(tree_sitter.Tree, tree_sitter.Query, tree_sitter.Node): the types this module reads."},
    {"root", root, METH_O, root_doc},
    {"scan", scan, METH_VARARGS, scan_doc},
    {"pack", pack, METH_VARARGS, pack_doc},
    {"pattern_roots", pattern_roots, METH_O, pattern_roots_doc},
    {"definitions", definitions, METH_VARARGS, definitions_doc},
    {"scan_structure", scan_structure, METH_VARARGS, scan_structure_doc},
    {"has_predicates", has_predicates, METH_O, has_predicates_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, .m_name = "_scan", .m_size = -1, .m_methods = methods};

PyMODINIT_FUNC PyInit__scan(void) {
    PyObject *module = PyModule_Create(&module_def);
    if (module && PyModule_AddStringConstant(module, "TREE_SITTER_VERSION", TS_VERSION) < 0) Py_CLEAR(module);
    return module;
}
