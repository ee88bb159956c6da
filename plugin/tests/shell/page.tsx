/**
 * Grafana's PluginPage, as far as a reader of a screenshot needs it: breadcrumbs (the page's
 * parents), the title and subtitle, the tabs, then the page. Links go through locationService, as
 * Grafana's own link interception does.
 */
import React from 'react';
import type { NavModelItem } from '@grafana/data';
import { locationService, type PluginPageProps } from '@grafana/runtime';

function crumbs(nav: NavModelItem | undefined): NavModelItem[] {
  const out: NavModelItem[] = [];
  for (let n = nav?.parentItem; n; n = n.parentItem) {
    out.unshift(n);
  }
  return out;
}

const go = (url: string | undefined) => (e: React.MouseEvent) => {
  e.preventDefault();
  if (url) {
    locationService.push(url);
  }
};

export function PluginPageStandIn({ pageNav, children, subTitle }: PluginPageProps) {
  const parents = crumbs(pageNav);
  return (
    <div style={{ padding: 16 }}>
      <nav data-testid="breadcrumbs" style={{ fontSize: 12 }}>
        {parents.map((p, i) => (
          <span key={i}>
            <a href={p.url} onClick={go(p.url)}>
              {p.text}
            </a>
            {' / '}
          </span>
        ))}
      </nav>
      <h1 data-testid="page-title" style={{ margin: '4px 0' }}>
        {pageNav?.text}
      </h1>
      <div style={{ opacity: 0.7, marginBottom: 8 }}>{subTitle ?? pageNav?.subTitle}</div>
      {pageNav?.children?.length ? (
        <div role="tablist" style={{ display: 'flex', gap: 16, marginBottom: 8 }}>
          {pageNav.children.map((t, i) => (
            <a key={i} role="tab" aria-selected={Boolean(t.active)} href={t.url} onClick={go(t.url)}>
              {t.text}
            </a>
          ))}
        </div>
      ) : null}
      {children}
    </div>
  );
}
