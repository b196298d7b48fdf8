//! Stable sorting without `slice::sort`: every `sort_by` instantiation brings kilobytes of
//! driftsort/ipnsort into the component, this one heapsort over indices is a few hundred bytes
//! for all callers (pure).

/// `0..n` in the order `less` gives, ties in index order: the order a stable sort leaves.
/// A heapsort over indices, O(n log n) whatever the input (an answer may be hostile).
pub fn stable_order(n: usize, less: &dyn Fn(usize, usize) -> bool) -> Vec<usize> {
    // A strict total order: `less`, then the index.
    let before = |a: usize, b: usize| less(a, b) || (!less(b, a) && a < b);
    let sift = |v: &mut [usize], mut root: usize, end: usize| loop {
        let mut child = 2 * root + 1;
        if child >= end {
            break;
        }
        if child + 1 < end && before(v[child], v[child + 1]) {
            child += 1;
        }
        if !before(v[root], v[child]) {
            break;
        }
        v.swap(root, child);
        root = child;
    };
    let mut v: Vec<usize> = (0..n).collect();
    for i in (0..n / 2).rev() {
        sift(&mut v, i, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift(&mut v, 0, end);
    }
    v
}

/// `items` sorted by `key` (ascending), ties kept in order: `sort_by_key` for a `u64` key.
pub fn sort_by_u64<T>(items: Vec<T>, key: impl Fn(&T) -> u64) -> Vec<T> {
    let keys: Vec<u64> = items.iter().map(key).collect();
    let order = stable_order(keys.len(), &|a, b| keys[a] < keys[b]);
    permute(items, &order)
}

/// `items` taken in `order` (a permutation of their indices).
pub fn permute<T>(items: Vec<T>, order: &[usize]) -> Vec<T> {
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order.iter().filter_map(|&i| slots[i].take()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The same order as std's stable sort, ties included.
        #[test]
        fn sorts_like_sort_by_key(keys in proptest::collection::vec(0u64..8, 0..200)) {
            let items: Vec<(u64, usize)> = keys.iter().copied().zip(0..).collect();
            let mut expected = items.clone();
            expected.sort_by_key(|&(k, _)| k);
            prop_assert_eq!(sort_by_u64(items.clone(), |&(k, _)| k), expected);
            let mut down = items.clone();
            down.sort_by_key(|&(k, _)| std::cmp::Reverse(k));
            prop_assert_eq!(sort_by_u64(items, |&(k, _)| !k), down);
        }
    }

    #[test]
    fn empty_and_single() {
        assert!(stable_order(0, &|_, _| false).is_empty());
        assert_eq!(stable_order(1, &|_, _| false), [0]);
        assert_eq!(sort_by_u64(vec![3u64, 1, 2], |&k| k), [1, 2, 3]);
    }
}
