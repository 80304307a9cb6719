//! The buffer pool: fixed-size buffers (`bufsize`) that channels borrow
//! while they hold data and give back as soon as they are empty, so an idle
//! connection holds no buffer at all.
//!
//! The pool is per worker and single-threaded; it only grows on demand and
//! shrinks on [`BufferPool::release_unused`] (SIGQUIT).

/// One buffer's storage. Only the pool creates them.
pub struct Buffer {
    data: Box<[u8]>,
}

impl Buffer {
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.data
    }
    pub fn as_slice(&self) -> &[u8] {
        &self.data
    }
    pub fn capacity(&self) -> usize {
        self.data.len()
    }
}

/// Usage figures, for SIGQUIT and `show pools`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub bufsize: usize,
    /// Buffers that exist (in use + free).
    pub allocated: usize,
    /// Buffers held by channels now.
    pub used: usize,
    /// Most buffers ever in use at once.
    pub peak_used: usize,
    /// Times a buffer had to be allocated because the free list was empty.
    pub misses: u64,
}

/// A free list of equally sized buffers.
pub struct BufferPool {
    bufsize: usize,
    free: Vec<Buffer>,
    stats: PoolStats,
}

impl BufferPool {
    pub fn new(bufsize: usize) -> BufferPool {
        BufferPool {
            bufsize,
            free: Vec::new(),
            stats: PoolStats {
                bufsize,
                ..PoolStats::default()
            },
        }
    }

    /// Takes a buffer, allocating one if the free list is empty.
    pub fn get(&mut self) -> Buffer {
        let buf = match self.free.pop() {
            Some(b) => b,
            None => {
                self.stats.allocated += 1;
                self.stats.misses += 1;
                Buffer {
                    data: vec![0u8; self.bufsize].into_boxed_slice(),
                }
            }
        };
        self.stats.used += 1;
        self.stats.peak_used = self.stats.peak_used.max(self.stats.used);
        buf
    }

    /// Gives a buffer back.
    pub fn put(&mut self, buf: Buffer) {
        self.stats.used = self.stats.used.saturating_sub(1);
        if buf.capacity() == self.bufsize {
            self.free.push(buf);
        } else {
            self.stats.allocated = self.stats.allocated.saturating_sub(1);
        }
    }

    /// Frees every buffer not in use; returns how many bytes were released.
    pub fn release_unused(&mut self) -> usize {
        let n = self.free.len();
        self.free = Vec::new();
        self.stats.allocated -= n;
        n * self.bufsize
    }

    pub fn stats(&self) -> PoolStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuse_and_release() {
        let mut p = BufferPool::new(1024);
        let a = p.get();
        let b = p.get();
        assert_eq!(p.stats().allocated, 2);
        p.put(a);
        let c = p.get();
        assert_eq!(p.stats().allocated, 2);
        assert_eq!(p.stats().misses, 2);
        p.put(b);
        p.put(c);
        assert_eq!(p.stats().used, 0);
        assert_eq!(p.release_unused(), 2048);
        assert_eq!(p.stats().allocated, 0);
        assert_eq!(p.stats().peak_used, 2);
    }
}
