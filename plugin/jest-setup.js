// Jest setup provided by Grafana scaffolding
import './.config/jest-setup';

// Scenes' LazyLoader and panel sizing touch these browser APIs at import time; jsdom has none
// (metrics-drilldown's jest-setup adds the same).
class NoopObserver {
  observe() {}
  unobserve() {}
  disconnect() {}
  takeRecords() {
    return [];
  }
}
global.IntersectionObserver = global.IntersectionObserver ?? NoopObserver;
global.ResizeObserver = global.ResizeObserver ?? NoopObserver;
