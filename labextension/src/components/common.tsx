/**
 * Pieces every list uses: signal and clock hooks, status badges, times, sections and the
 * keyboard-navigable list.
 */
import { caretDownIcon, caretRightIcon } from '@jupyterlab/ui-components';
import { ISignal } from '@lumino/signaling';
import React, { useEffect, useReducer, useState } from 'react';
import { fullTime, shortTime, statusWords, Zone } from '../format';
import { Slice } from '../slice';

/** Re-render when a signal fires. */
export function useSignal(signal: ISignal<unknown, unknown>): void {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    const slot = () => bump();
    signal.connect(slot);
    return () => {
      signal.disconnect(slot);
    };
  }, [signal]);
}

/** A slice's items, re-rendered when they change. */
export function useSlice<T>(slice: Slice<T>): Slice<T> {
  useSignal(slice.changed);
  return slice;
}

/** The current time, ticking every second while `ticking` (durations, countdowns). */
export function useNow(ticking: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!ticking) {
      return;
    }
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, [ticking]);
  return ticking ? now : Date.now();
}

/** A status in words, coloured by its raw value (`data-status`). */
export function StatusBadge(props: { status: string | null | undefined }): JSX.Element {
  const raw = props.status ?? 'unknown';
  return (
    <span className="jp-orch-status" data-status={raw} title={raw}>
      {statusWords(raw)}
    </span>
  );
}

export function Time(props: { value: string | null | undefined; zone: Zone; prefix?: string }): JSX.Element | null {
  if (!props.value) {
    return null;
  }
  return (
    <time dateTime={props.value} title={fullTime(props.value, props.zone)}>
      {props.prefix ?? ''}
      {shortTime(props.value, props.zone)}
    </time>
  );
}

export interface ISectionProps {
  id: string;
  title: string;
  count?: number;
  error?: string;
  tools?: React.ReactNode;
  collapsed: boolean;
  onToggle: () => void;
  children: React.ReactNode;
}

/** A collapsible section: a header button with a caret, tools on the right. */
export function Section(props: ISectionProps): JSX.Element {
  const Caret = props.collapsed ? caretRightIcon : caretDownIcon;
  return (
    <section className="jp-orch-section" data-section={props.id} data-collapsed={String(props.collapsed)}>
      <div className="jp-orch-section-header">
        <button
          className="jp-orch-section-toggle"
          aria-expanded={!props.collapsed}
          onClick={props.onToggle}
          title={props.collapsed ? 'Expand' : 'Collapse'}
        >
          <Caret.react tag="span" className="jp-orch-caret" />
          <span className="jp-orch-section-title">{props.title}</span>
          {props.count ? <span className="jp-orch-count">{props.count}</span> : null}
        </button>
        <span className="jp-orch-tools">{props.tools}</span>
      </div>
      {props.collapsed ? null : (
        <>
          {props.error ? (
            <div className="jp-orch-error" role="alert">
              {props.error}
            </div>
          ) : null}
          {props.children}
        </>
      )}
    </section>
  );
}

/**
 * A list whose rows are reached with the keyboard: Up/Down (and Home/End) move between rows,
 * Enter activates one; each row is an element with role="option" and tabIndex.
 */
export function RowList(props: { label: string; empty: string; children: React.ReactNode[] }): JSX.Element {
  const onKeyDown = (e: React.KeyboardEvent<HTMLUListElement>) => {
    const rows = Array.from(e.currentTarget.querySelectorAll<HTMLElement>(':scope > [role="option"]'));
    const i = rows.indexOf(document.activeElement as HTMLElement);
    const target =
      e.key === 'ArrowDown'
        ? rows[Math.min(rows.length - 1, i + 1)]
        : e.key === 'ArrowUp'
          ? rows[Math.max(0, i - 1)]
          : e.key === 'Home'
            ? rows[0]
            : e.key === 'End'
              ? rows[rows.length - 1]
              : null;
    if (target) {
      e.preventDefault();
      target.focus();
    }
  };
  return (
    <ul className="jp-orch-list" role="listbox" aria-label={props.label} onKeyDown={onKeyDown}>
      {props.children.length ? props.children : <li className="jp-orch-empty">{props.empty}</li>}
    </ul>
  );
}

/** Props of a row: Enter or a click (not on a button) activates it. */
export function rowProps(onActivate: () => void): {
  role: string;
  tabIndex: number;
  onClick: (e: React.MouseEvent) => void;
  onKeyDown: (e: React.KeyboardEvent) => void;
} {
  return {
    role: 'option',
    tabIndex: 0,
    onClick: e => {
      if (!(e.target as HTMLElement).closest('button, a, input, select, jp-button, .jp-ToolbarButtonComponent')) {
        onActivate();
      }
    },
    onKeyDown: e => {
      if (e.key === 'Enter' && e.target === e.currentTarget) {
        onActivate();
      }
    }
  };
}
