//! Random sequences (proptest strategies), and the one-step-simpler
//! sequences the greedy shrinking tries.

use super::*;

pub fn tag() -> impl Strategy<Value = Tag> {
    prop_oneof![Just(Tag::Current), Just(Tag::Other), Just(Tag::Star)]
}

pub fn when() -> impl Strategy<Value = When> {
    prop_oneof![
        Just(When::LongAgo),
        Just(When::Future),
        Just(When::LastModified),
        Just(When::BeforeLastModified)
    ]
}

pub fn read_cond() -> impl Strategy<Value = Cond> {
    prop_oneof![
        tag().prop_map(Cond::Match),
        tag().prop_map(Cond::NoneMatch),
        when().prop_map(Cond::ModifiedSince),
        when().prop_map(Cond::UnmodifiedSince),
    ]
}

pub fn put_cond() -> impl Strategy<Value = Option<Cond>> {
    prop_oneof![
        6 => Just(None),
        1 => Just(Some(Cond::NoneMatch(Tag::Star))),
        2 => prop_oneof![Just(Tag::Current), Just(Tag::Other)].prop_map(|t| Some(Cond::Match(t))),
    ]
}

pub fn pick<T: Clone + fmt::Debug + 'static>(values: &'static [T]) -> impl Strategy<Value = T> {
    prop::sample::select(values)
}

pub fn key() -> impl Strategy<Value = usize> {
    0..KEYS.len()
}

pub fn range() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::weighted(0.3, pick(RANGES))
}

pub fn conds() -> impl Strategy<Value = Vec<Cond>> {
    prop_oneof![
        3 => Just(Vec::new()),
        2 => prop::collection::vec(read_cond(), 1..=2),
    ]
}

pub fn op() -> impl Strategy<Value = Op> {
    let body = prop_oneof![
        12 => prop::collection::vec(any::<u8>(), 0..24).prop_map(Body::Bytes),
        1 => Just(Body::Tagging),
    ];
    let put = (
        key(),
        body,
        prop::option::weighted(0.7, pick(CONTENT_TYPES)),
        prop::bool::weighted(0.3),
        prop::bool::weighted(0.2),
        put_cond(),
    )
        .prop_map(
            |(key, body, content_type, meta, cache_control, cond)| Op::Put {
                key,
                body,
                content_type,
                meta,
                cache_control,
                cond,
            },
        );
    let get =
        (key(), range(), conds()).prop_map(|(key, range, conds)| Op::Get { key, range, conds });
    let head =
        (key(), range(), conds()).prop_map(|(key, range, conds)| Op::Head { key, range, conds });
    let list = (
        prop::option::weighted(0.5, pick(PREFIXES)),
        prop::option::weighted(0.5, pick(DELIMITERS)),
        prop::option::weighted(0.25, pick(START_AFTER)),
        prop::option::weighted(0.5, pick(MAX_KEYS)),
    )
        .prop_map(|(prefix, delimiter, start_after, max_keys)| {
            Op::List(List {
                prefix,
                delimiter,
                start_after,
                max_keys,
            })
        });
    prop_oneof![
        30 => put,
        14 => get,
        7 => head,
        8 => key().prop_map(|key| Op::Delete { key }),
        14 => list,
        4 => Just(Op::ListNext),
        3 => Just(Op::DeleteBucket),
    ]
}

pub fn step() -> impl Strategy<Value = Step> {
    let query = prop_oneof![
        2 => Just(Vec::new()),
        1 => prop::collection::vec(pick(EXTRA_QUERY), 1..=2),
    ];
    let headers = prop_oneof![
        4 => Just(Vec::new()),
        1 => prop::collection::vec(pick(EXTRA_HEADERS), 1..=2),
    ];
    (op(), query, headers).prop_map(|(op, query, mut headers)| {
        // A group drawn twice is sent once: a repeated x-amz-* header is not
        // what this test is about (moto joins the two values).
        headers.sort_by_key(|g| g[0].0);
        headers.dedup_by_key(|g| g[0].0);
        Step { op, query, headers }
    })
}

pub fn simpler(steps: &[Step]) -> Vec<Vec<Step>> {
    let mut out = Vec::new();
    for i in 0..steps.len() {
        if steps.len() > 1 {
            let mut fewer = steps.to_vec();
            fewer.remove(i);
            out.push(fewer);
        }
        let mut variants: Vec<Step> = Vec::new();
        let step = &steps[i];
        for q in 0..step.query.len() {
            let mut v = step.clone();
            v.query.remove(q);
            variants.push(v);
        }
        for h in 0..step.headers.len() {
            let mut v = step.clone();
            v.headers.remove(h);
            variants.push(v);
        }
        if let Op::Put { key, .. } | Op::Get { key, .. } | Op::Head { key, .. } | Op::Delete { key } =
            &step.op
            && *key != 0
        {
            let mut v = step.clone();
            if let Op::Put { key, .. }
            | Op::Get { key, .. }
            | Op::Head { key, .. }
            | Op::Delete { key } = &mut v.op
            {
                *key = 0;
            }
            variants.push(v);
        }
        match &step.op {
            Op::Put {
                body,
                content_type,
                meta,
                cache_control,
                cond,
                ..
            } => {
                let put = |f: &dyn Fn(&mut Op)| {
                    let mut v = step.clone();
                    f(&mut v.op);
                    v
                };
                if cond.is_some() {
                    variants.push(put(&|op| {
                        if let Op::Put { cond, .. } = op {
                            *cond = None;
                        }
                    }));
                }
                if content_type.is_some() {
                    variants.push(put(&|op| {
                        if let Op::Put { content_type, .. } = op {
                            *content_type = None;
                        }
                    }));
                }
                if *meta || *cache_control {
                    variants.push(put(&|op| {
                        if let Op::Put {
                            meta,
                            cache_control,
                            ..
                        } = op
                        {
                            *meta = false;
                            *cache_control = false;
                        }
                    }));
                }
                if !matches!(body, Body::Bytes(b) if b.is_empty()) {
                    variants.push(put(&|op| {
                        if let Op::Put { body, .. } = op {
                            *body = Body::Bytes(Vec::new());
                        }
                    }));
                }
            }
            Op::Get { range, conds, .. } | Op::Head { range, conds, .. } => {
                if range.is_some() {
                    let mut v = step.clone();
                    if let Op::Get { range, .. } | Op::Head { range, .. } = &mut v.op {
                        *range = None;
                    }
                    variants.push(v);
                }
                for c in 0..conds.len() {
                    let mut v = step.clone();
                    if let Op::Get { conds, .. } | Op::Head { conds, .. } = &mut v.op {
                        conds.remove(c);
                    }
                    variants.push(v);
                }
            }
            Op::List(l) => {
                let fields: [fn(&mut List); 4] = [
                    |l| l.prefix = None,
                    |l| l.delimiter = None,
                    |l| l.start_after = None,
                    |l| l.max_keys = None,
                ];
                let set = [
                    l.prefix.is_some(),
                    l.delimiter.is_some(),
                    l.start_after.is_some(),
                    l.max_keys.is_some(),
                ];
                for (clear, present) in fields.iter().zip(set) {
                    if present {
                        let mut v = step.clone();
                        if let Op::List(l) = &mut v.op {
                            clear(l);
                        }
                        variants.push(v);
                    }
                }
            }
            Op::Delete { .. } | Op::ListNext | Op::DeleteBucket => {}
        }
        for v in variants {
            let mut seq = steps.to_vec();
            seq[i] = v;
            out.push(seq);
        }
    }
    out
}
